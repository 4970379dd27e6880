// Elementwise losses over n examples of d values: summed over all n*d values
// and divided by n, written to loss[0]; the loss terms in double as the Go
// fallbacks compute them. One launch per loss: each block writes its
// gradient values and one double partial sum to a scratch buffer, and the
// last block to finish adds all partials in index order and writes loss[0].
// No float atomics, and the grid depends only on n*d, so the loss is
// bit-reproducible.
#include "loss_reduce.cuh"

// loss_softplus is log(1+exp(a)) without overflow (kernels.softplus), given
// e = exp(-|a|): a + log1p(exp(-a)) for a > 0, log1p(exp(a)) otherwise.
static __device__ __forceinline__ double loss_softplus(double a, double e) { return a > 0 ? a + log1p(e) : log1p(e); }

// loss_sigmoid32 is kernels.sigmoid, given e = exp(-|x|) in double: float32
// arithmetic rounded step by step as Go does, so the gradient matches bit
// for bit.
static __device__ __forceinline__ float loss_sigmoid32(float x, double e) {
	float ef = (float)e;
	if (x >= 0) return __fdiv_rn(1.0f, __fadd_rn(1.0f, ef));
	return __fdiv_rn(ef, __fadd_rn(1.0f, ef));
}

#define LOSS_FOR(i, nd) \
	for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (nd); i += (int64_t)gridDim.x * blockDim.x)

// loss_mse: sum of (xhat-x)^2 / n; dxhat = scale/n * 2(xhat-x) when dxhat
// is not null. Go fallback: kernels.MSE.
KERNEL void loss_mse(float* loss, double* scratch, float* dxhat, const float* xhat, const float* x, int64_t nd,
                     int64_t n, uint64_t scale) {
	double g = (double)f32(scale) / (double)n;
	double s = 0;
	LOSS_FOR(i, nd) {
		double e = (double)xhat[i] - (double)x[i];
		s += e * e;
		if (dxhat) dxhat[i] = (float)(g * (2 * e));
	}
	loss_finish(s, scratch, loss, n);
}

// loss_bce: sum of softplus(a) - t*a over logits a and targets t, / n;
// dlogit = scale/n * (sigmoid(a) - t) when dlogit is not null.
// Go fallback: kernels.BCEWithLogits.
KERNEL void loss_bce(float* loss, double* scratch, float* dlogit, const float* logit, const float* target, int64_t nd,
                     int64_t n, uint64_t scale) {
	double g = (double)f32(scale) / (double)n;
	double s = 0;
	LOSS_FOR(i, nd) {
		float a = logit[i];
		double t = target[i];
		double e = exp(-fabs((double)a));
		s += loss_softplus(a, e) - t * a;
		if (dlogit) dlogit[i] = (float)(g * ((double)loss_sigmoid32(a, e) - t));
	}
	loss_finish(s, scratch, loss, n);
}

// loss_wbce is loss_bce with element (i,j) weighted by posw[j] where its
// target is 1 and negw[j] where it is 0.
// Go fallback: kernels.WeightedBCEWithLogits.
KERNEL void loss_wbce(float* loss, double* scratch, float* dlogit, const float* logit, const float* target,
                      const float* posw, const float* negw, int64_t nd, int64_t d, int64_t n, uint64_t scale) {
	double g = (double)f32(scale) / (double)n;
	double s = 0;
	LOSS_FOR(i, nd) {
		float a = logit[i];
		float tf = target[i];
		double t = tf;
		double w = tf > 0.5f ? posw[i % d] : negw[i % d];
		double e = exp(-fabs((double)a));
		s += w * (loss_softplus(a, e) - t * a);
		if (dlogit) dlogit[i] = (float)(g * (w * ((double)loss_sigmoid32(a, e) - t)));
	}
	loss_finish(s, scratch, loss, n);
}

// loss_negent: sum of q log q + (1-q) log(1-q), q = sigmoid(a), / n;
// dlogit = scale/n * q(1-q)a when dlogit is not null.
// Go fallback: kernels.NegEntropyWithLogits.
KERNEL void loss_negent(float* loss, double* scratch, float* dlogit, const float* logit, int64_t nd, int64_t n,
                        uint64_t scale) {
	double g = (double)f32(scale) / (double)n;
	double s = 0;
	LOSS_FOR(i, nd) {
		double a = logit[i];
		double e = exp(-fabs(a));
		double q = 1 / (1 + exp(-a));
		s += -(q * loss_softplus(-a, e) + (1 - q) * loss_softplus(a, e));
		if (dlogit) dlogit[i] = (float)(g * (q * (1 - q) * a));
	}
	loss_finish(s, scratch, loss, n);
}

// loss_meangap: one thread per (attribute j, coordinate c) of the k*d class-
// mean differences of mu[n,d] under labels y[n,k]: gap[j*d+c] = mean of the
// rows with y[i,j] = 1 minus the mean of the others (0 when a class is
// empty), loss[0] = sum of attrw[j] * gap^2. Each thread counts and sums its
// column in row order, as the fallback does. Go fallback: kernels.MeanGap.
KERNEL void loss_meangap(float* loss, double* scratch, float* gap, const float* mu, const float* y,
                         const float* attrw, int64_t n, int64_t d, int64_t k) {
	double s = 0;
	LOSS_FOR(t, k * d) {
		int64_t j = t / d, c = t % d;
		int64_t n1 = 0;
		double s1 = 0, s0 = 0;
		for (int64_t i = 0; i < n; i++) {
			if (y[i * k + j] > 0.5f) {
				n1++;
				s1 += mu[i * d + c];
			} else {
				s0 += mu[i * d + c];
			}
		}
		double g = 0;
		if (n1 > 0 && n1 < n) g = s1 / (double)n1 - s0 / (double)(n - n1);
		gap[t] = (float)g;
		s += (double)attrw[j] * g * g;
	}
	loss_finish(s, scratch, loss, 1);
}

// loss_meangap_grad: dmu[i,c] = sum over j of w(i,j) * gap[j,c], w =
// 2*scale*attrw[j]/n1 for a row in class 1 and -2*scale*attrw[j]/n0 in
// class 0 (0 when a class is empty): the gradient of scale * loss_meangap.
// One thread per element of dmu; each counts the classes itself (n and k
// are small). Go fallback: kernels.MeanGap.
KERNEL void loss_meangap_grad(float* dmu, const float* gap, const float* y, const float* attrw, int64_t n, int64_t d,
                              int64_t k, uint64_t scale) {
	double sc = f32(scale);
	LOSS_FOR(t, n * d) {
		int64_t i = t / d, c = t % d;
		double s = 0;
		for (int64_t j = 0; j < k; j++) {
			int64_t n1 = 0;
			for (int64_t r = 0; r < n; r++) n1 += y[r * k + j] > 0.5f;
			if (n1 == 0 || n1 == n) continue;
			double a = sc * (double)attrw[j];
			double w = y[i * k + j] > 0.5f ? 2 * a / (double)n1 : -2 * a / (double)(n - n1);
			s += w * (double)gap[j * d + c];
		}
		dmu[t] = (float)s;
	}
}

EMU_REGISTER(loss_mse)
EMU_REGISTER(loss_bce)
EMU_REGISTER(loss_wbce)
EMU_REGISTER(loss_negent)
EMU_REGISTER(loss_meangap)
EMU_REGISTER(loss_meangap_grad)
