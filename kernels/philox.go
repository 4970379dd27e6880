package kernels

import "math"

// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
// 3", SC'11) is a counter-based generator: the i-th block of random bits is a
// pure function of (key, counter), so a GPU thread can make its own noise
// without shared state and the CPU can make exactly the same numbers.
const (
	philoxM0 = 0xD2511F53
	philoxM1 = 0xCD9E8D57
	philoxW0 = 0x9E3779B9
	philoxW1 = 0xBB67AE85
)

// Philox4x32 runs the ten Philox rounds on counter ctr under key.
func Philox4x32(ctr [4]uint32, key [2]uint32) [4]uint32 {
	for range 10 {
		p0 := uint64(philoxM0) * uint64(ctr[0])
		p1 := uint64(philoxM1) * uint64(ctr[2])
		ctr = [4]uint32{
			uint32(p1>>32) ^ ctr[1] ^ key[0],
			uint32(p1),
			uint32(p0>>32) ^ ctr[3] ^ key[1],
			uint32(p0),
		}
		key[0] += philoxW0
		key[1] += philoxW1
	}
	return ctr
}

// NormalBlock returns the four standard normals of block number block in the
// stream of seed: the 64-bit seed is the key and the block number the low
// half of the counter. Box-Muller runs in float64 so that the CUDA twin,
// which does the same in double precision, rounds to the same float32.
func NormalBlock(seed, block uint64) [4]float32 {
	r := Philox4x32([4]uint32{uint32(block), uint32(block >> 32), 0, 0}, [2]uint32{uint32(seed), uint32(seed >> 32)})
	var out [4]float32
	for j := 0; j < 4; j += 2 {
		// (r+0.5)/2^32 lies strictly inside (0,1): the log never sees 0.
		u1 := (float64(r[j]) + 0.5) / (1 << 32)
		u2 := (float64(r[j+1]) + 0.5) / (1 << 32)
		rad := math.Sqrt(-2 * math.Log(u1))
		s, c := math.Sincos(2 * math.Pi * u2)
		out[j] = float32(rad * c)
		out[j+1] = float32(rad * s)
	}
	return out
}

// Normal fills out with standard normals: out[i] is element i%4 of block
// offset+i/4. A caller that draws again advances offset by NormalBlocks(len).
func Normal(out []float32, seed, offset uint64) {
	parallelFor((len(out)+3)/4, elemGrain/4, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			v := NormalBlock(seed, offset+uint64(b))
			for j := 0; j < 4 && 4*b+j < len(out); j++ {
				out[4*b+j] = v[j]
			}
		}
	})
}

// NormalBlocks is how many counter blocks Normal consumes for n numbers.
func NormalBlocks(n int) uint64 { return uint64((n + 3) / 4) }
