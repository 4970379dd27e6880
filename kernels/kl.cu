// KL divergences of a diagonal Gaussian posterior from its prior, and the
// fixed label prior of CSVAE's w subspaces. The KL kernels reduce as the
// losses of loss.cu do: one launch, each block writes its gradient values
// and one double partial sum to a scratch buffer, and the last block to
// finish adds the partials in index order and writes KL/n to loss[0].
#include "loss_reduce.cuh"

// kl_std_normal: KL(N(mu, exp(logvar)) || N(0,1)) summed over n*d values,
// / n, and, when dmu is not null, the gradients of scale*KL/n.
// Go fallback: kernels.KLStdNormal.
KERNEL void kl_std_normal(float* loss, double* scratch, float* dmu, float* dlogvar, const float* mu,
                          const float* logvar, int64_t nd, int64_t n, uint64_t scale) {
	double g = (double)f32(scale) / (double)n;
	double s = 0;
	for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < nd; i += (int64_t)gridDim.x * blockDim.x) {
		double m = mu[i], lv = logvar[i];
		double e = exp(lv);
		s += 0.5 * (e + m * m - 1 - lv);
		if (dmu) {
			dmu[i] = (float)(g * m);
			if (dlogvar) dlogvar[i] = (float)(g * 0.5 * (e - 1));
		}
	}
	loss_finish(s, scratch, loss, n);
}

// kl_diagonal: KL(N(mu, exp(logvar)) || N(pmu, exp(plogvar))) summed over
// n*d values, / n; when dmu is not null the gradients of scale*KL/n for the
// posterior, and when dpmu is not null as well, for the prior.
// Go fallback: kernels.KLDiagonal.
KERNEL void kl_diagonal(float* loss, double* scratch, float* dmu, float* dlogvar, float* dpmu, float* dplogvar,
                        const float* mu, const float* logvar, const float* pmu, const float* plogvar, int64_t nd,
                        int64_t n, uint64_t scale) {
	double g = (double)f32(scale) / (double)n;
	double s = 0;
	for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < nd; i += (int64_t)gridDim.x * blockDim.x) {
		double m = mu[i], lv = logvar[i], pm = pmu[i], plv = plogvar[i];
		double diff = m - pm;
		double e = exp(lv), ip = exp(-plv);
		s += 0.5 * (plv - lv + (e + diff * diff) * ip - 1);
		if (dmu) {
			dmu[i] = (float)(g * diff * ip);
			if (dlogvar) dlogvar[i] = (float)(g * 0.5 * (e * ip - 1));
			if (dpmu) dpmu[i] = (float)(-g * diff * ip);
			if (dpmu && dplogvar) dplogvar[i] = (float)(g * 0.5 * (1 - (e + diff * diff) * ip));
		}
	}
	loss_finish(s, scratch, loss, n);
}

// kl_label_prior expands labels y[n,k] into the prior of w[n,2k]: both
// coordinates of attribute j get (mu1, logvar1) where y is 1, else (mu0,
// logvar0). One thread per label.
// Go fallback: kernels.LabelPrior.
KERNEL void kl_label_prior(float* pmu, float* plogvar, const float* y, int64_t nk, uint64_t mu1, uint64_t logvar1,
                           uint64_t mu0, uint64_t logvar0) {
	for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < nk; i += (int64_t)gridDim.x * blockDim.x) {
		bool on = y[i] > 0.5f;
		float m = f32(on ? mu1 : mu0), lv = f32(on ? logvar1 : logvar0);
		pmu[2 * i] = m;
		pmu[2 * i + 1] = m;
		plogvar[2 * i] = lv;
		plogvar[2 * i + 1] = lv;
	}
}

EMU_REGISTER(kl_std_normal)
EMU_REGISTER(kl_diagonal)
EMU_REGISTER(kl_label_prior)
