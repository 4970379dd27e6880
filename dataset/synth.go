package dataset

// Synthetic faces in CelebA's published layout.
//
// WriteSynthFaces draws cartoon faces procedurally and writes them exactly
// as CelebA is distributed (img_align_celeba/NNNNNN.jpg, list_attr_celeba.txt,
// list_eval_partition.txt), so every CelebA code path (reading, the packed
// cache, training, the "while keeping" experiments) runs on data that can be
// made anywhere, without the 1.4 GB download.
//
// Every face is a pure function of (seed, index): its attributes and its
// nuisance parameters come from its own PCG(seed, index) generator, so the
// files are identical whatever the core count or the order of the work.
//
// Drawn attributes (visible in the 148x148 centre crop resized to 64x64):
//
//	Eyeglasses         dark frames around both eyes, a bridge and the arms
//	                   (a fifth of them tinted sunglasses)
//	Smiling            upturned open mouth showing the teeth; otherwise a
//	                   straight closed mouth
//	Male               short hair, squarer jaw, thicker eyebrows; female
//	                   faces have long hair framing the face
//	Heavy_Makeup       coloured eyeshadow, thick eyeliner, rosy cheeks
//	Wearing_Lipstick   saturated red or pink lips
//	Mustache           dark band over the upper lip (males only)
//	Receding_Hairline  higher forehead, hair pushed back at the temples
//	Wearing_Hat        a saturated coloured hat over the hair, with a brim
//	Blond_Hair, Black_Hair, Brown_Hair, Gray_Hair
//	                   the hair colour (other faces have dark chestnut or
//	                   auburn hair and none of the four labels)
//	Bangs              a fringe over the forehead
//	Bald               no hair on top, a rim at the sides (older males)
//	Goatee             a patch on the chin (males)
//	5_o_Clock_Shadow   a grey tint over the lower face (males)
//	Sideburns          hair strips in front of the ears (males)
//	No_Beard           -1 exactly when a mustache or a goatee is drawn
//	Bushy_Eyebrows, Arched_Eyebrows, Narrow_Eyes, Big_Lips, Big_Nose,
//	Bags_Under_Eyes, Pale_Skin, Chubby (wider face), Double_Chin (a fold
//	under the chin), Mouth_Slightly_Open (every smile, and a dark gap for
//	some closed mouths), Rosy_Cheeks (exactly the faces with blush: all
//	Heavy_Makeup faces and a few others), Wavy_Hair (wavy outline and
//	strands, clearest on long hair), Wearing_Earrings (gold or silver dots
//	at the ear lobes), Blurry (a box blur of the whole picture)
//	                   drawn, but subtle at 64x64
//	Wearing_Necklace   a thin chain at the bottom edge of the crop
//	Wearing_Necktie    a collar and tie below the crop: visible only in the
//	                   full 178x218 picture
//
// Not drawn (labels only, with CelebA-like rates and correlations):
// Attractive, High_Cheekbones (tied to Smiling), Oval_Face, Pointy_Nose,
// Straight_Hair, Young (tied to Gray_Hair, Bald and Bags_Under_Eyes).
//
// Nuisance variation for z: background colour, skin tone, hair shade,
// iris, hat, clothing and makeup colours, head position (a few pixels),
// size, a small rotation, face width, feature spacing and a side light.

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/csvae-gpu/csvae-gpu/atomicfile"
)

// synthAttrNames are CelebA's 40 attributes in the order of
// list_attr_celeba.txt.
var synthAttrNames = [...]string{
	"5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes",
	"Bald", "Bangs", "Big_Lips", "Big_Nose", "Black_Hair", "Blond_Hair",
	"Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby", "Double_Chin",
	"Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones",
	"Male", "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "No_Beard",
	"Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline",
	"Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair",
	"Wearing_Earrings", "Wearing_Hat", "Wearing_Lipstick",
	"Wearing_Necklace", "Wearing_Necktie", "Young",
}

// Indices into synthAttrNames.
const (
	saFiveOClockShadow = iota
	saArchedEyebrows
	saAttractive
	saBagsUnderEyes
	saBald
	saBangs
	saBigLips
	saBigNose
	saBlackHair
	saBlondHair
	saBlurry
	saBrownHair
	saBushyEyebrows
	saChubby
	saDoubleChin
	saEyeglasses
	saGoatee
	saGrayHair
	saHeavyMakeup
	saHighCheekbones
	saMale
	saMouthSlightlyOpen
	saMustache
	saNarrowEyes
	saNoBeard
	saOvalFace
	saPaleSkin
	saPointyNose
	saRecedingHairline
	saRosyCheeks
	saSideburns
	saSmiling
	saStraightHair
	saWavyHair
	saWearingEarrings
	saWearingHat
	saWearingLipstick
	saWearingNecklace
	saWearingNecktie
	saYoung
	synthNumAttrs
)

// CelebA's aligned images and the square the readers crop from them.
const (
	synthCelebAW, synthCelebAH = 178, 218
	synthCelebACrop            = 148
	synthJPEGQuality           = 95
	synthMaxImages             = 999999 // six-digit file names
)

type synthRGB [3]float64

func (c synthRGB) scale(k float64) synthRGB { return synthRGB{c[0] * k, c[1] * k, c[2] * k} }

func synthMix(a, b synthRGB, t float64) synthRGB {
	return synthRGB{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t, a[2] + (b[2]-a[2])*t}
}

// Hair colours; synthHairOther has none of the four hair labels.
const (
	synthHairBlack = iota
	synthHairBrown
	synthHairBlond
	synthHairGray
	synthHairOther
)

// synthFace is everything needed to draw one face. Geometry is in face
// coordinates: the head's centre at the origin, x to the right, y down, one
// unit half the side of the face square before the face's own scale.
type synthFace struct {
	attr [synthNumAttrs]bool

	// Placement of the face in the square ([-1,1]², y down).
	cx, cy, scale, rot float64

	headW, headTop, headBot float64 // half width, top and bottom extent
	jawP, chinNarrow        float64 // lower-face superellipse exponent (2 or 3) and taper
	eyeX, eyeY, eyeW, eyeH  float64
	browY, browThick        float64
	browArch                float64
	noseY, noseW            float64
	mouthY, mouthW, lipT    float64
	hairline                float64
	bangsY, bangsTilt       float64
	hairEnd                 float64 // where long hair ends (face y)
	hairPhase               float64
	hatBrimY                float64
	hatWide                 bool // a wide brim (fedora) rather than a cap band
	sunglasses              bool
	light                   float64 // side light, multiplies by 1+light*x

	hairKind int
	bg, bg2, skin, hair, brow, beard, iris, lip, shadow, blush, hat, cloth,
	frame, jewel synthRGB
}

func synthBern(r *rand.Rand, p float64) bool { return r.Float64() < p }

func synthUniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

func synthJitter(r *rand.Rand, c synthRGB, d float64) synthRGB {
	for i := range c {
		c[i] = math.Min(1, math.Max(0, c[i]+synthUniform(r, -d, d)))
	}
	return c
}

func synthHSV(h, s, v float64) synthRGB {
	h = math.Mod(h, 1) * 6
	i := math.Floor(h)
	f := h - i
	p, q, t := v*(1-s), v*(1-s*f), v*(1-s*(1-f))
	switch int(i) {
	case 0:
		return synthRGB{v, t, p}
	case 1:
		return synthRGB{q, v, p}
	case 2:
		return synthRGB{p, v, t}
	case 3:
		return synthRGB{p, q, v}
	case 4:
		return synthRGB{t, p, v}
	}
	return synthRGB{v, p, q}
}

// synthSample draws face index of seed: first the attributes, with
// CelebA-like rates and correlations, then the nuisance parameters.
func synthSample(seed uint64, index int) synthFace {
	r := rand.New(rand.NewPCG(seed, uint64(index)))
	var f synthFace
	a := &f.attr
	b := func(p float64) bool { return synthBern(r, p) }
	pick := func(yes, no float64, cond bool) float64 {
		if cond {
			return yes
		}
		return no
	}

	male := b(0.42)
	young := b(pick(0.68, 0.84, male))
	a[saMale], a[saYoung] = male, young

	// Hair colour: gray mostly on older faces, blond mostly on women.
	switch {
	case b(pick(0.01, 0.20, young)):
		f.hairKind = synthHairGray
	case b(pick(0.04, 0.25, male)):
		f.hairKind = synthHairBlond
	default:
		u := r.Float64()
		switch {
		case u < 0.33:
			f.hairKind = synthHairBlack
		case u < 0.61:
			f.hairKind = synthHairBrown
		default:
			f.hairKind = synthHairOther
		}
	}
	a[saBlackHair] = f.hairKind == synthHairBlack
	a[saBrownHair] = f.hairKind == synthHairBrown
	a[saBlondHair] = f.hairKind == synthHairBlond
	a[saGrayHair] = f.hairKind == synthHairGray

	// A hat hides the top of the head, so a bald head or a receding
	// hairline under it would not be visible: those need no hat. Bangs
	// show below the brim. Receding hairlines and bangs exclude each other.
	hat := b(0.05)
	a[saWearingHat] = hat
	a[saBald] = male && !hat && b(pick(0.015, 0.10, young))
	a[saBangs] = !a[saBald] && b(pick(0.07, 0.21, male))
	a[saRecedingHairline] = !hat && !a[saBald] && !a[saBangs] &&
		b(pick(pick(0.14, 0.33, young), 0.035, male))

	a[saEyeglasses] = b(pick(0.06, 0.15, young))
	f.sunglasses = a[saEyeglasses] && b(0.2)
	a[saSmiling] = b(0.48)
	a[saMouthSlightlyOpen] = a[saSmiling] || b(0.15)
	a[saHighCheekbones] = b(pick(0.75, 0.15, a[saSmiling]))

	a[saHeavyMakeup] = b(pick(0.02, pick(0.66, 0.45, young), male))
	switch {
	case a[saHeavyMakeup]:
		a[saWearingLipstick] = b(0.9)
	case male:
		a[saWearingLipstick] = b(0.005)
	default:
		a[saWearingLipstick] = b(0.45)
	}
	a[saRosyCheeks] = a[saHeavyMakeup] || (!male && b(0.03))

	a[saMustache] = male && b(0.25)
	a[saGoatee] = male && b(pick(0.4, 0.08, a[saMustache]))
	a[saNoBeard] = !a[saMustache] && !a[saGoatee]
	a[saFiveOClockShadow] = male && b(0.26)
	a[saSideburns] = male && !a[saBald] && b(0.13)

	a[saBushyEyebrows] = b(pick(0.25, 0.07, male))
	a[saArchedEyebrows] = b(pick(0.08, 0.40, male))
	a[saBagsUnderEyes] = b(pick(0.14, 0.40, young))
	a[saBigLips] = b(pick(0.15, 0.30, male))
	a[saBigNose] = b(pick(0.40, 0.10, male))
	a[saPointyNose] = b(pick(0.17, 0.35, male))
	a[saNarrowEyes] = b(0.11)
	a[saPaleSkin] = b(0.04)
	a[saChubby] = b(pick(0.09, 0.03, male))
	a[saDoubleChin] = a[saChubby] && b(0.6) || b(0.015)
	a[saOvalFace] = b(pick(0.18, 0.35, male))
	a[saBlurry] = b(0.04)
	a[saWavyHair] = b(pick(0.15, 0.45, male))
	a[saStraightHair] = !a[saWavyHair] && b(0.3)
	a[saWearingEarrings] = b(pick(0.02, 0.30, male))
	a[saWearingNecklace] = b(pick(0.02, 0.20, male))
	a[saWearingNecktie] = male && b(0.17)
	a[saAttractive] = b(pick(pick(0.35, 0.12, young), pick(0.72, 0.3, young), male))

	// Nuisance and shape parameters.
	f.cx = synthUniform(r, -0.055, 0.055)
	f.cy = 0.07 + synthUniform(r, -0.05, 0.05)
	f.scale = synthUniform(r, 0.94, 1.05)
	f.rot = synthUniform(r, -0.07, 0.07)
	f.light = synthUniform(r, -0.12, 0.12)

	f.headW = 0.55 * synthUniform(r, 0.95, 1.05)
	f.headTop = 0.76 * synthUniform(r, 0.97, 1.03)
	f.headBot = 0.78 * synthUniform(r, 0.97, 1.03)
	if male {
		f.headW *= 1.04
		f.jawP, f.chinNarrow = 3, synthUniform(r, 0.08, 0.16)
	} else {
		f.jawP, f.chinNarrow = 2.0, synthUniform(r, 0.22, 0.3)
	}
	if a[saChubby] {
		f.headW *= 1.09
		f.chinNarrow *= 0.7
	}
	f.eyeX = 0.215 * synthUniform(r, 0.94, 1.06)
	f.eyeY = -0.04 + synthUniform(r, -0.02, 0.02)
	f.eyeW = 0.1 * synthUniform(r, 0.92, 1.08)
	f.eyeH = 0.045 * synthUniform(r, 0.9, 1.1)
	if a[saNarrowEyes] {
		f.eyeH *= 0.55
	}
	f.browY = f.eyeY - 0.135 + synthUniform(r, -0.015, 0.015)
	f.browThick = pick(0.058, 0.034, male)
	if a[saBushyEyebrows] {
		f.browThick *= 1.45
	}
	f.browArch = pick(0.055, 0.02, a[saArchedEyebrows])
	f.noseY = 0.2 + synthUniform(r, -0.02, 0.02)
	f.noseW = pick(0.095, 0.068, a[saBigNose])
	f.mouthY = 0.42 + synthUniform(r, -0.02, 0.02)
	f.mouthW = 0.165 * synthUniform(r, 0.92, 1.08)
	f.lipT = pick(0.042, 0.03, a[saBigLips])
	f.hairline = -0.46 + synthUniform(r, -0.03, 0.02)
	f.bangsY = -0.27 + synthUniform(r, -0.02, 0.01)
	f.bangsTilt = synthUniform(r, -0.12, 0.12)
	f.hairEnd = synthUniform(r, 0.85, 1.9)
	f.hairPhase = synthUniform(r, 0, 2*math.Pi)
	f.hatBrimY = f.hairline + 0.03
	f.hatWide = b(0.35)

	// Colours.
	f.bg = synthHSV(r.Float64(), synthUniform(r, 0, 0.35), synthUniform(r, 0.3, 0.95))
	f.bg2 = synthJitter(r, f.bg, 0.08)
	t := math.Pow(r.Float64(), 1.8) * 0.95
	f.skin = synthMix(synthRGB{0.97, 0.82, 0.70}, synthRGB{0.42, 0.27, 0.19}, t)
	f.skin = synthJitter(r, f.skin, 0.025)
	if a[saPaleSkin] {
		f.skin = synthJitter(r, synthRGB{1.0, 0.91, 0.86}, 0.015)
	}
	switch f.hairKind {
	case synthHairBlack:
		f.hair = synthJitter(r, synthRGB{0.07, 0.06, 0.06}, 0.025)
	case synthHairBrown:
		f.hair = synthJitter(r, synthRGB{0.42, 0.27, 0.15}, 0.04)
	case synthHairBlond:
		f.hair = synthJitter(r, synthRGB{0.92, 0.79, 0.48}, 0.04)
	case synthHairGray:
		g := synthUniform(r, 0.62, 0.85)
		f.hair = synthJitter(r, synthRGB{g, g, g * 1.02}, 0.015)
	default:
		if b(0.6) {
			f.hair = synthJitter(r, synthRGB{0.22, 0.13, 0.08}, 0.025)
		} else {
			f.hair = synthJitter(r, synthRGB{0.56, 0.25, 0.12}, 0.04)
		}
	}
	f.brow = f.hair.scale(0.7)
	f.beard = f.hair.scale(0.55)
	if f.hairKind == synthHairBlond || f.hairKind == synthHairGray {
		f.brow = synthMix(f.hair, synthRGB{0.25, 0.2, 0.15}, 0.5)
		f.beard = synthMix(f.hair, synthRGB{0.2, 0.16, 0.12}, 0.6)
	}
	irises := []synthRGB{{0.35, 0.2, 0.1}, {0.2, 0.12, 0.07}, {0.25, 0.4, 0.6}, {0.3, 0.45, 0.3}}
	f.iris = irises[r.IntN(len(irises))]
	if a[saWearingLipstick] {
		lips := []synthRGB{{0.82, 0.05, 0.12}, {0.68, 0.02, 0.1}, {0.86, 0.1, 0.35}, {0.9, 0.15, 0.12}}
		f.lip = synthJitter(r, lips[r.IntN(len(lips))], 0.03)
	} else {
		f.lip = synthRGB{f.skin[0]*0.82 + 0.02, f.skin[1] * 0.62, f.skin[2] * 0.62}
	}
	shadows := []synthRGB{{0.6, 0.25, 0.75}, {0.25, 0.45, 0.9}, {0.1, 0.62, 0.65}, {0.88, 0.3, 0.7}, {0.35, 0.68, 0.3}}
	f.shadow = shadows[r.IntN(len(shadows))]
	f.blush = synthRGB{0.93, 0.38, 0.47}
	hats := []synthRGB{{0.8, 0.1, 0.12}, {0.12, 0.25, 0.75}, {0.1, 0.55, 0.22}, {0.52, 0.15, 0.65}, {0.93, 0.5, 0.08}, {0.05, 0.55, 0.62}, {0.86, 0.2, 0.56}}
	f.hat = synthJitter(r, hats[r.IntN(len(hats))], 0.04)
	f.cloth = synthHSV(r.Float64(), synthUniform(r, 0.1, 0.7), synthUniform(r, 0.15, 0.85))
	frames := []synthRGB{{0.04, 0.04, 0.05}, {0.2, 0.1, 0.05}, {0.05, 0.07, 0.2}}
	f.frame = frames[r.IntN(len(frames))]
	f.jewel = synthRGB{0.96, 0.8, 0.3}
	if b(0.4) {
		f.jewel = synthRGB{0.88, 0.88, 0.92}
	}
	return f
}

// synthLayout is the picture size and the face square for size (0: CelebA's
// 178x218 with the centred 148x148 square the readers crop).
func synthLayout(size int) (w, h int, sqX, sqY, sqSize float64) {
	if size == 0 {
		return synthCelebAW, synthCelebAH,
			float64(synthCelebAW-synthCelebACrop) / 2, float64(synthCelebAH-synthCelebACrop) / 2, synthCelebACrop
	}
	return size, size, 0, 0, float64(size)
}

// synthCanvas is an RGB picture in [0,1] with the face's transform.
type synthCanvas struct {
	w, h int
	pix  []float32 // RGB, row-major

	cos, sin, k float64 // face -> pixel: p = g + k·R(rot)·(x, y)
	gx, gy      float64
	aa          float64 // one pixel in face units
}

func newSynthCanvas(f *synthFace, size int) *synthCanvas {
	w, h, sqX, sqY, sqSize := synthLayout(size)
	s := sqSize / 2
	c := &synthCanvas{w: w, h: h, pix: make([]float32, 3*w*h)}
	c.cos, c.sin = math.Cos(f.rot), math.Sin(f.rot)
	c.k = s * f.scale
	c.gx, c.gy = sqX+s*(1+f.cx), sqY+s*(1+f.cy)
	c.aa = 1 / c.k
	return c
}

func (c *synthCanvas) toPixel(x, y float64) (float64, float64) {
	return c.gx + c.k*(c.cos*x-c.sin*y), c.gy + c.k*(c.sin*x+c.cos*y)
}

func (c *synthCanvas) toFace(px, py float64) (float64, float64) {
	dx, dy := px-c.gx, py-c.gy
	return (c.cos*dx + c.sin*dy) / c.k, (-c.sin*dx + c.cos*dy) / c.k
}

// fill paints the shape whose signed distance (face units, negative
// inside) is sd, within the face-space box [x0,x1]x[y0,y1], with colour col
// at opacity alpha. Edges are anti-aliased over one pixel, or blurred over
// feather face units when that is wider. shade, when not nil, multiplies
// the colour at each point (texture, light).
func (c *synthCanvas) fill(x0, y0, x1, y1 float64, sd func(x, y float64) float64, col synthRGB, alpha, feather float64, shade func(x, y float64) float64) {
	width := math.Max(c.aa, feather)
	minX, minY := math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	for _, p := range [4][2]float64{{x0, y0}, {x1, y0}, {x0, y1}, {x1, y1}} {
		px, py := c.toPixel(p[0], p[1])
		minX, maxX = math.Min(minX, px), math.Max(maxX, px)
		minY, maxY = math.Min(minY, py), math.Max(maxY, py)
	}
	pad := width*c.k + 1
	ix0, ix1 := max(0, int(math.Floor(minX-pad))), min(c.w-1, int(math.Ceil(maxX+pad)))
	iy0, iy1 := max(0, int(math.Floor(minY-pad))), min(c.h-1, int(math.Ceil(maxY+pad)))
	cr, cg, cb := float32(col[0]), float32(col[1]), float32(col[2])
	for py := iy0; py <= iy1; py++ {
		for px := ix0; px <= ix1; px++ {
			x, y := c.toFace(float64(px)+0.5, float64(py)+0.5)
			d := sd(x, y)
			cov := 0.5 - d/width
			if cov <= 0 {
				continue
			}
			a := float32(math.Min(cov, 1) * alpha)
			r, g, b := cr, cg, cb
			if shade != nil {
				m := float32(shade(x, y))
				r, g, b = r*m, g*m, b*m
			}
			i := 3 * (py*c.w + px)
			c.pix[i] += (r - c.pix[i]) * a
			c.pix[i+1] += (g - c.pix[i+1]) * a
			c.pix[i+2] += (b - c.pix[i+2]) * a
		}
	}
}

// Signed distances (approximate near the edges, which is all the
// anti-aliasing needs).

func sdEllipse(x, y, a, b float64) float64 {
	qx, qy := x/a, y/b
	q := math.Sqrt(qx*qx + qy*qy)
	gx, gy := x/(a*a), y/(b*b)
	g := math.Sqrt(gx*gx + gy*gy)
	if g < 1e-12 {
		return -math.Min(a, b)
	}
	return (q - 1) * q / g
}

func sdCircle(x, y, r float64) float64 { return math.Hypot(x, y) - r }

func sdSegment(x, y, ax, ay, bx, by, r float64) float64 {
	px, py := x-ax, y-ay
	dx, dy := bx-ax, by-ay
	h := math.Max(0, math.Min(1, (px*dx+py*dy)/(dx*dx+dy*dy)))
	return math.Hypot(px-dx*h, py-dy*h) - r
}

// sdBox is a box of half sizes hx, hy with corners rounded by radius r.
func sdBox(x, y, hx, hy, r float64) float64 {
	qx, qy := math.Abs(x)-hx+r, math.Abs(y)-hy+r
	return math.Hypot(math.Max(qx, 0), math.Max(qy, 0)) + math.Min(math.Max(qx, qy), 0) - r
}

// sdImplicit turns an implicit function into a distance by its numeric
// gradient.
func sdImplicit(f func(x, y float64) float64, x, y float64) float64 {
	const e = 1e-3
	v := f(x, y)
	gx := (f(x+e, y) - f(x-e, y)) / (2 * e)
	gy := (f(x, y+e) - f(x, y-e)) / (2 * e)
	g := math.Hypot(gx, gy)
	if g < 1e-9 {
		return v
	}
	return v / g
}

// sdAbove is the distance to the region y < curve(x) (negative inside),
// corrected for the curve's slope.
func sdAbove(x, y float64, curve func(x float64) float64) float64 {
	const e = 1e-3
	s := (curve(x+e) - curve(x-e)) / (2 * e)
	return (y - curve(x)) / math.Sqrt(1+s*s)
}

func synthSmoothstep(e0, e1, x float64) float64 {
	t := math.Max(0, math.Min(1, (x-e0)/(e1-e0)))
	return t * t * (3 - 2*t)
}

// headF is the implicit head outline: an ellipse above the eyes' line, a
// superellipse below it (squarer for males) that narrows to the chin.
func (f *synthFace) headF(x, y float64) float64 {
	if y < 0 {
		qx, qy := x/f.headW, y/f.headTop
		return math.Sqrt(qx*qx+qy*qy) - 1
	}
	t := y / f.headBot
	xn := math.Abs(x) / (f.headW * (1 - f.chinNarrow*t*t))
	switch f.jawP {
	case 2:
		return math.Sqrt(xn*xn+t*t) - 1
	case 3:
		return math.Cbrt(xn*xn*xn+t*t*t) - 1
	}
	return math.Pow(math.Pow(xn, f.jawP)+math.Pow(t, f.jawP), 1/f.jawP) - 1
}

// headSD is the signed distance to the head outline. Away from the edge
// only the sign and a rough size matter (every use saturates there), which
// spares the numeric gradient for most pixels.
func (f *synthFace) headSD(x, y float64) float64 {
	if v := f.headF(x, y); math.Abs(v) > 0.12 {
		return v * f.headW
	}
	return sdImplicit(f.headF, x, y)
}

// frontHairline is the lower edge of the hair in front of the head at x.
func (f *synthFace) frontHairline(x float64) float64 {
	a := f.attr
	ax := math.Abs(x)
	var h float64
	switch {
	case a[saBangs]:
		// A fringe of strands with pointed tips, maybe swept to one side.
		s := math.Abs(math.Sin(math.Pi * (x + f.hairPhase) / 0.11))
		h = f.bangsY + f.bangsTilt*x - 0.035*s
	case a[saRecedingHairline]:
		// Higher forehead, temples pushed far back (an M-shape).
		d := (ax - 0.3) / 0.11
		h = f.hairline - 0.13 - 0.17*math.Exp(-d*d)
	default:
		h = f.hairline + 0.22*x*x
	}
	// At the sides the hair comes down: to the ears for short hair, over
	// the cheeks for long hair.
	side := 0.35
	if a[saMale] {
		side = -0.06
	}
	w := synthSmoothstep(f.headW-0.16, f.headW-0.02, ax)
	if a[saRecedingHairline] {
		w = synthSmoothstep(f.headW-0.1, f.headW-0.01, ax)
	}
	return h + (side-h)*w
}

// synthRender draws f on a canvas for size (see synthLayout).
func synthRender(f *synthFace, size int) *synthCanvas {
	c := newSynthCanvas(f, size)
	a := &f.attr
	male := a[saMale]

	// Background: plain, with a faint vertical gradient.
	for py := range c.h {
		t := float64(py) / float64(c.h)
		col := synthMix(f.bg, f.bg2, t)
		for px := range c.w {
			i := 3 * (py*c.w + px)
			c.pix[i], c.pix[i+1], c.pix[i+2] = float32(col[0]), float32(col[1]), float32(col[2])
		}
	}
	hw, ht, hb := f.headW, f.headTop, f.headBot
	wav := 0.0
	if a[saWavyHair] {
		wav = 1
	}
	hairShade := func(x, y float64) float64 {
		if wav > 0 {
			return 1 + 0.07*math.Sin(30*x+3*math.Sin(14*y+f.hairPhase))
		}
		return 1 + 0.05*math.Sin(45*x+2*math.Sin(5*y+f.hairPhase))
	}

	// Clothes and neck.
	c.fill(-1.6, 0.9, 1.6, 2.5, func(x, y float64) float64 {
		return sdBox(x, y-1.75, 1.25, 0.72, 0.4)
	}, f.cloth, 1, 0, nil)
	if a[saWearingNecktie] {
		white := synthRGB{0.95, 0.95, 0.95}
		c.fill(-0.4, 0.95, 0.4, 1.5, func(x, y float64) float64 {
			return math.Max(sdBox(x, y-1.2, 0.32, 0.22, 0.02), math.Abs(x)*1.2-(y-0.98))
		}, white, 1, 0, nil)
		tie := synthRGB{0.5 * f.cloth[2], 0.3, 0.6 * f.cloth[0]}
		c.fill(-0.2, 1.0, 0.2, 2.2, func(x, y float64) float64 {
			knot := sdBox(x, y-1.1, 0.06, 0.05, 0.02)
			blade := math.Max(math.Abs(x)-0.05-0.05*(y-1.1), math.Max(1.1-y, y-2.0))
			return math.Min(knot, blade)
		}, tie, 1, 0, nil)
	}

	// Hair behind the head.
	switch {
	case !male:
		end := f.hairEnd
		c.fill(-hw-0.5, -ht-0.3, hw+0.5, end+0.1, func(x, y float64) float64 {
			top := sdEllipse(x, y+0.05, hw+0.15, ht+0.15)
			half := hw + 0.13 + 0.07*math.Max(y, 0) + wav*0.035*math.Sin(16*y+f.hairPhase)
			fall := math.Max(math.Abs(x)-half, math.Max(-0.1-y, y-end+0.04*math.Cos(9*x)))
			return math.Min(top, fall)
		}, f.hair, 1, 0, hairShade)
	case a[saBald]:
		c.fill(-hw-0.1, -0.5, hw+0.1, 0.1, func(x, y float64) float64 {
			return math.Max(sdEllipse(x, y+0.02, hw+0.04, ht+0.04), math.Max(-0.4-y, math.Max(y-0.05, hw-0.12-math.Abs(x))))
		}, f.hair, 1, 0, hairShade)
	default:
		c.fill(-hw-0.1, -ht-0.15, hw+0.1, 0.1, func(x, y float64) float64 {
			return math.Max(sdEllipse(x, y+0.04, hw+0.045, ht+0.08), y-0.05)
		}, f.hair, 1, 0, hairShade)
	}
	neck := f.skin.scale(0.86)
	c.fill(-0.3, 0.3, 0.3, 1.3, func(x, y float64) float64 {
		return sdBox(x, y-0.8, 0.21+0.05*math.Max(y-0.9, 0), 0.5, 0.02)
	}, neck, 1, 0, nil)
	if a[saWearingNecklace] {
		c.fill(-0.3, 0.8, 0.3, 1.1, func(x, y float64) float64 {
			return math.Max(math.Abs(y-(0.9+0.9*x*x))-0.013, math.Abs(x)-0.22)
		}, f.jewel, 1, 0, nil)
	}

	// Ears, then the head.
	for _, s := range [2]float64{-1, 1} {
		c.fill(s*hw-0.12, -0.15, s*hw+0.12, 0.17, func(x, y float64) float64 {
			return sdEllipse(x-s*(hw-0.005), y-0.01, 0.075, 0.125)
		}, f.skin.scale(0.92), 1, 0, nil)
	}
	skinShade := func(x, y float64) float64 {
		// Soft rounding: a little darker towards the outline.
		q := (x/hw)*(x/hw) + (y/hb)*(y/hb)*0.6
		return 1 - 0.08*q
	}
	c.fill(-hw-0.05, -ht-0.05, hw+0.05, hb+0.05, f.headSD, f.skin, 1, 0, skinShade)
	if a[saDoubleChin] {
		c.fill(-0.3, hb-0.2, 0.3, hb+0.1, func(x, y float64) float64 {
			return math.Max(math.Abs(sdEllipse(x, y-(hb-0.03), 0.2, 0.08))-0.01, hb-0.03-y)
		}, f.skin.scale(0.72), 0.8, 0, nil)
	}
	if a[saFiveOClockShadow] {
		c.fill(-hw, f.noseY-0.05, hw, hb+0.05, func(x, y float64) float64 {
			// The head's edge stays sharp; the upper edge fades over the
			// cheeks.
			return math.Max(4*f.headSD(x, y), 0.35*(f.noseY+0.12-y))
		}, synthRGB{0.28, 0.26, 0.27}, 0.25, 0.06, nil)
	}

	// Makeup under the brows: eyeshadow.
	if a[saHeavyMakeup] {
		for _, s := range [2]float64{-1, 1} {
			ex := s * f.eyeX
			c.fill(ex-0.2, f.eyeY-0.17, ex+0.2, f.eyeY+0.06, func(x, y float64) float64 {
				return sdEllipse(x-ex, y-(f.eyeY-0.05), f.eyeW*1.6, 0.085)
			}, f.shadow, 0.9, 0.03, nil)
		}
	}

	// Eyebrows: tapered arcs, thicker at the inner end.
	for _, s := range [2]float64{-1, 1} {
		xin, xout := 0.085, 0.37
		xm, hl := (xin+xout)/2, (xout-xin)/2
		c.fill(s*xin-0.06*s, f.browY-0.12, s*xout+0.06*s, f.browY+0.08, func(x, y float64) float64 {
			u := s * x
			t := (u - xm) / hl
			curve := func(u float64) float64 {
				t := (u - xm - 0.03) / hl
				return f.browY - f.browArch*(1-t*t)
			}
			th := f.browThick * (1 - 0.35*(t+1)/2)
			return math.Max(math.Abs(sdAbove(u, y, curve))-th/2, (math.Abs(t)-1)*hl)
		}, f.brow, 1, 0, nil)
	}

	// Hair in front of the head: the hairline, bangs, temples.
	if !a[saBald] {
		c.fill(-hw-0.1, -ht-0.2, hw+0.1, 0.45, func(x, y float64) float64 {
			e := sdEllipse(x, y+0.03, hw+0.04, ht+0.07)
			if e > 0.05 { // outside either way: spare the hairline
				return e
			}
			return math.Max(e, sdAbove(x, y, f.frontHairline))
		}, f.hair, 1, 0, hairShade)
	}
	if a[saSideburns] {
		for _, s := range [2]float64{-1, 1} {
			c.fill(s*hw-0.1, -0.2, s*hw+0.1, 0.2, func(x, y float64) float64 {
				return math.Max(sdBox(x-s*(hw-0.05), y-0.02, 0.04, 0.15, 0.02), f.headSD(x, y)-0.01)
			}, f.hair, 1, 0, nil)
		}
	}

	// Eyes.
	for _, s := range [2]float64{-1, 1} {
		ex, ey := s*f.eyeX, f.eyeY
		ew, eh := f.eyeW, f.eyeH
		if a[saBagsUnderEyes] {
			c.fill(ex-0.15, ey, ex+0.15, ey+0.15, func(x, y float64) float64 {
				return math.Max(math.Abs(sdEllipse(x-ex, y-(ey+0.02), ew*0.95, eh+0.045))-0.012, ey+0.03-y)
			}, f.skin.scale(0.62), 0.6, 0.02, nil)
		}
		sclera := func(x, y float64) float64 { return sdEllipse(x-ex, y-ey, ew, eh) }
		c.fill(ex-ew, ey-eh, ex+ew, ey+eh, sclera, synthRGB{0.96, 0.94, 0.92}, 1, 0, nil)
		ix := ex + s*0.008
		c.fill(ix-0.06, ey-0.06, ix+0.06, ey+0.06, func(x, y float64) float64 {
			return math.Max(sclera(x, y), sdCircle(x-ix, y-ey, 0.048))
		}, f.iris, 1, 0, nil)
		c.fill(ix-0.03, ey-0.03, ix+0.03, ey+0.03, func(x, y float64) float64 {
			return math.Max(sclera(x, y), sdCircle(x-ix, y-ey, 0.022))
		}, synthRGB{0.03, 0.02, 0.02}, 1, 0, nil)
		liner := 0.014
		if a[saHeavyMakeup] {
			liner = 0.028
		}
		c.fill(ex-ew-0.05, ey-eh-0.05, ex+ew+0.05, ey+0.02, func(x, y float64) float64 {
			return math.Max(math.Abs(sclera(x, y))-liner/2, y-ey+0.005)
		}, synthRGB{0.12, 0.08, 0.07}, 1, 0, nil)
	}

	// Nose: a shaded side of the bridge, the tip and the nostrils.
	side := 1.0
	if f.light > 0 {
		side = -1
	}
	nose := f.skin.scale(0.72)
	c.fill(-0.15, f.eyeY, 0.15, f.noseY+0.05, func(x, y float64) float64 {
		return sdSegment(x, y, side*0.05, f.eyeY+0.08, side*f.noseW*0.8, f.noseY-0.02, 0.012)
	}, nose, 0.45, 0.03, nil)
	c.fill(-f.noseW-0.05, f.noseY-0.1, f.noseW+0.05, f.noseY+0.1, func(x, y float64) float64 {
		return sdEllipse(x, y-f.noseY, f.noseW, 0.05)
	}, nose, 0.35, 0.035, nil)
	for _, s := range [2]float64{-1, 1} {
		nx := s * f.noseW * 0.5
		c.fill(nx-0.05, f.noseY-0.03, nx+0.05, f.noseY+0.07, func(x, y float64) float64 {
			return sdEllipse(x-nx, y-(f.noseY+0.03), 0.026, 0.014)
		}, f.skin.scale(0.4), 0.9, 0, nil)
	}

	// Blush.
	if a[saRosyCheeks] {
		for _, s := range [2]float64{-1, 1} {
			bx := s * 0.31
			c.fill(bx-0.25, 0.0, bx+0.25, 0.4, func(x, y float64) float64 {
				return sdCircle(x-bx, y-0.19, 0.09)
			}, f.blush, 0.6, 0.1, nil)
		}
	}

	// Mouth.
	my := f.mouthY
	if a[saSmiling] {
		mw := f.mouthW * 1.18
		top := func(x float64) float64 { t := x / mw; return my - 0.01 - 0.04*t*t }
		bot := func(x float64) float64 { t := x / mw; return my + 0.12 - 0.17*t*t }
		inside := func(x, y float64) float64 {
			return math.Max(math.Max(-sdAbove(x, y, top), sdAbove(x, y, bot)), math.Abs(x)-mw)
		}
		lt := f.lipT
		c.fill(-mw-0.06, my-0.12, mw+0.06, my+0.2, func(x, y float64) float64 {
			upper := func(x float64) float64 { return top(x) - lt }
			lower := func(x float64) float64 { return bot(x) + lt*1.1 }
			return math.Max(math.Max(-sdAbove(x, y, upper), sdAbove(x, y, lower)), math.Abs(x)-mw-0.015)
		}, f.lip, 1, 0, nil)
		c.fill(-mw, my-0.06, mw, my+0.13, inside, synthRGB{0.22, 0.03, 0.05}, 1, 0, nil)
		c.fill(-mw, my-0.06, mw, my+0.06, func(x, y float64) float64 {
			teeth := func(x float64) float64 { return top(x) + 0.042 }
			return math.Max(inside(x, y), sdAbove(x, y, teeth))
		}, synthRGB{0.97, 0.96, 0.92}, 1, 0, nil)
	} else {
		mw := f.mouthW
		lt := f.lipT
		c.fill(-mw-0.03, my-0.08, mw+0.03, my+0.08, func(x, y float64) float64 {
			return sdEllipse(x, y-my-0.006, mw, lt*1.15)
		}, f.lip, 1, 0, nil)
		c.fill(-mw, my-0.03, mw, my+0.03, func(x, y float64) float64 {
			return sdSegment(x, y, -mw*0.92, my, mw*0.92, my, 0.0075)
		}, f.lip.scale(0.4), 1, 0, nil)
		if a[saMouthSlightlyOpen] {
			c.fill(-mw, my-0.03, mw, my+0.03, func(x, y float64) float64 {
				return sdEllipse(x, y-my-0.003, mw*0.6, 0.013)
			}, synthRGB{0.2, 0.04, 0.05}, 1, 0, nil)
		}
	}

	// Facial hair.
	if a[saMustache] {
		mw := f.mouthW + 0.045
		c.fill(-mw-0.05, my-0.16, mw+0.05, my+0.05, func(x, y float64) float64 {
			t := x / mw
			upper := func(x float64) float64 { t := x / mw; return my - 0.115 + 0.03*t*t }
			lower := func(x float64) float64 { t := x / mw; return my - 0.032 + 0.045*t*t }
			return math.Max(math.Max(-sdAbove(x, y, upper), sdAbove(x, y, lower)), (math.Abs(t)-1)*mw)
		}, f.beard, 1, 0, nil)
	}
	if a[saGoatee] {
		c.fill(-0.15, my, 0.15, my+0.35, func(x, y float64) float64 {
			return math.Max(sdEllipse(x, y-(my+0.2), 0.085, 0.085), f.headSD(x, y)+0.01)
		}, f.beard, 1, 0, nil)
	}

	// Eyeglasses: frames, bridge, arms.
	if a[saEyeglasses] {
		fw, fh := 0.145, 0.1
		th := 0.036
		for _, s := range [2]float64{-1, 1} {
			ex, ey := s*f.eyeX, f.eyeY+0.01
			lens := func(x, y float64) float64 { return sdBox(x-ex, y-ey, fw, fh, 0.05) }
			if f.sunglasses {
				c.fill(ex-fw, ey-fh, ex+fw, ey+fh, lens, synthRGB{0.08, 0.09, 0.12}, 0.85, 0, nil)
			} else {
				c.fill(ex-fw, ey-fh, ex+fw, ey+fh, lens, synthRGB{0.85, 0.9, 0.97}, 0.12, 0, nil)
			}
			c.fill(ex-fw-0.03, ey-fh-0.03, ex+fw+0.03, ey+fh+0.03, func(x, y float64) float64 {
				return math.Abs(lens(x, y)) - th/2
			}, f.frame, 1, 0, nil)
			c.fill(s*(f.eyeX+fw)-0.02, ey-0.1, s*hw+0.02, ey+0.05, func(x, y float64) float64 {
				return sdSegment(x, y, s*(f.eyeX+fw), ey-0.035, s*(hw-0.005), ey-0.045, 0.014)
			}, f.frame, 1, 0, nil)
		}
		bx := f.eyeX - fw
		c.fill(-bx-0.02, f.eyeY-0.08, bx+0.02, f.eyeY+0.03, func(x, y float64) float64 {
			return sdSegment(x, y, -bx, f.eyeY-0.015, bx, f.eyeY-0.015, 0.018)
		}, f.frame, 1, 0, nil)
	}

	// Hat: a crown over the hair and a brim across the forehead.
	if a[saWearingHat] {
		by := f.hatBrimY
		c.fill(-hw-0.2, -ht-0.5, hw+0.2, by+0.02, func(x, y float64) float64 {
			return math.Max(sdEllipse(x, y-(by+0.02), hw+0.09, by+ht+0.28), y-by)
		}, f.hat, 1, 0, func(x, y float64) float64 { return 1 - 0.12*math.Max(0, -(y-by))/(ht+0.3) })
		bw := hw + 0.1
		bh := 0.055
		if f.hatWide {
			bw, bh = hw+0.3, 0.04
		}
		c.fill(-bw-0.05, by-0.15, bw+0.05, by+0.1, func(x, y float64) float64 {
			return sdBox(x, y-by, bw, bh, 0.035)
		}, f.hat.scale(0.75), 1, 0, nil)
	}

	// Earrings, on top of any hair.
	if a[saWearingEarrings] {
		for _, s := range [2]float64{-1, 1} {
			ex := s * (hw + 0.005)
			c.fill(ex-0.06, 0.05, ex+0.06, 0.2, func(x, y float64) float64 {
				return sdCircle(x-ex, y-0.13, 0.03)
			}, f.jewel, 1, 0, nil)
		}
	}

	// Side light over everything, then the blur of a Blurry picture.
	for py := range c.h {
		for px := range c.w {
			x, _ := c.toFace(float64(px)+0.5, float64(py)+0.5)
			m := float32(1 + f.light*math.Max(-1.2, math.Min(1.2, x)))
			i := 3 * (py*c.w + px)
			c.pix[i] *= m
			c.pix[i+1] *= m
			c.pix[i+2] *= m
		}
	}
	if a[saBlurry] {
		c.blur(max(1, int(math.Round(0.025*c.k))))
	}
	for i, v := range c.pix {
		c.pix[i] = min(1, max(0, v))
	}
	return c
}

// blur applies a box blur of radius r twice in each direction.
func (c *synthCanvas) blur(r int) {
	tmp := make([]float32, len(c.pix))
	pass := func(src, dst []float32, n, m, stride, step int) {
		// n lines of m pixels; pixel j of line i at i*stride + j*step.
		for i := range n {
			for ch := range 3 {
				for j := range m {
					var s float32
					cnt := 0
					for k := max(0, j-r); k <= min(m-1, j+r); k++ {
						s += src[3*(i*stride+k*step)+ch]
						cnt++
					}
					dst[3*(i*stride+j*step)+ch] = s / float32(cnt)
				}
			}
		}
	}
	for range 2 {
		pass(c.pix, tmp, c.h, c.w, c.w, 1)
		pass(tmp, c.pix, c.w, c.h, 1, c.w)
	}
}

// rgba converts the canvas to 8-bit RGBA.
func (c *synthCanvas) rgba() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, c.w, c.h))
	for i := range c.w * c.h {
		for ch := range 3 {
			img.Pix[4*i+ch] = uint8(c.pix[3*i+ch]*255 + 0.5)
		}
		img.Pix[4*i+3] = 255
	}
	return img
}

// synthPartition is the partition of image i (0-based) of n: CelebA's
// split is contiguous (train, then valid, then test), and so is this one,
// 80/10/10.
func synthPartition(i, n int) int {
	train := (8*n + 5) / 10
	valid := (n + 5) / 10
	switch {
	case i < train:
		return 0
	case i < train+valid:
		return 1
	}
	return 2
}

func synthFileName(i int) string { return fmt.Sprintf("%06d.jpg", i+1) }

// WriteSynthFaces writes n procedurally drawn faces in CelebA's published
// layout under dir: img_align_celeba/000001.jpg..., list_attr_celeba.txt
// (the count, CelebA's 40 attribute names, then one line of 1/-1 values per
// image) and list_eval_partition.txt (0 train, 1 valid, 2 test: the first
// 80%, the next 10%, the last 10%, contiguous as in CelebA).
//
// With size 0 the pictures are 178x218 like CelebA's aligned images and the
// face fills the centred 148x148 square that the readers crop; with size > 0
// they are size x size and the face fills the whole square. The files are a
// pure function of (n, seed, size). Faces are drawn in parallel on all
// cores; progress, when not nil, is called after each image from the
// calling goroutine. Each file is written atomically, and the two lists
// last, so a directory with both lists is complete.
func WriteSynthFaces(dir string, n int, seed uint64, size int, progress func(done, total int)) error {
	return writeSynthFaces(dir, n, seed, size, nil, progress)
}

// SynthUndrawn are the labels the synthetic faces carry but do not show in
// the 148x148 centre crop that prepare keeps (the first six are not drawn
// at all, the necktie only below the crop). eval --labels-skip leaves them
// out of its leakage reference: no encoder could have kept them.
var SynthUndrawn = []string{"Attractive", "High_Cheekbones", "Oval_Face", "Pointy_Nose", "Straight_Hair", "Young", "Wearing_Necktie"}

// SynthFlippable are the attributes WriteSynthCounterfactuals can flip.
// Each is drawn from its own flag alone (Heavy_Makeup: the eyeshadow,
// whose colour every face draws, the thicker eyeliner and the blush), so
// flipping it changes that feature and nothing else; Male, say, also
// steers head shape and colours sampled with it, and has no such
// counterfactual.
var SynthFlippable = []string{"Eyeglasses", "Smiling", "Heavy_Makeup"}

// WriteSynthCounterfactuals writes the faces of WriteSynthFaces(dir, n,
// seed, size) with the attributes in flip (of SynthFlippable) reversed on
// every face, in the same layout and partition: for each face, the picture
// an ideal editor would make. Labels tied to a flipped one follow it
// (Mouth_Slightly_Open and High_Cheekbones with Smiling; whether added
// eyeglasses are sunglasses; Rosy_Cheeks with Heavy_Makeup), drawn from a
// stream of their own so the face itself is unchanged.
func WriteSynthCounterfactuals(dir string, n int, seed uint64, size int, flip []string, progress func(done, total int)) error {
	if len(flip) == 0 {
		return fmt.Errorf("synthetic counterfactuals: no attribute to flip (flippable: %v)", SynthFlippable)
	}
	var idx []int
	for _, name := range flip {
		i := slices.Index(synthAttrNames[:], name)
		if !slices.Contains(SynthFlippable, name) {
			return fmt.Errorf("synthetic counterfactuals: cannot flip %q alone (flippable: %v): its drawing shares parameters sampled with it, or it is not drawn", name, SynthFlippable)
		}
		idx = append(idx, i)
	}
	return writeSynthFaces(dir, n, seed, size, idx, progress)
}

// synthFlip reverses the attributes flip of face index and redraws the
// labels tied to them from a stream apart from the face's own.
func synthFlip(f *synthFace, seed uint64, index int, flip []int) {
	r := rand.New(rand.NewPCG(seed^0x9e3779b97f4a7c15, uint64(index)))
	a := &f.attr
	for _, i := range flip {
		a[i] = !a[i]
		switch i {
		case saEyeglasses:
			f.sunglasses = a[saEyeglasses] && synthBern(r, 0.2)
		case saSmiling:
			a[saMouthSlightlyOpen] = a[saSmiling] || synthBern(r, 0.15)
			p := 0.15
			if a[saSmiling] {
				p = 0.75
			}
			a[saHighCheekbones] = synthBern(r, p)
		case saHeavyMakeup:
			// Every made-up face wears blush; without makeup a few women
			// do, at the rate the faces are drawn with.
			a[saRosyCheeks] = a[saHeavyMakeup] || (!a[saMale] && synthBern(r, 0.03))
		}
	}
}

func writeSynthFaces(dir string, n int, seed uint64, size int, flip []int, progress func(done, total int)) error {
	if n < 1 || n > synthMaxImages {
		return fmt.Errorf("synthetic faces: n = %d, want 1 to %d", n, synthMaxImages)
	}
	if size < 0 || (size > 0 && size < 16) {
		return fmt.Errorf("synthetic faces: size %d, want 0 (CelebA's 178x218) or at least 16", size)
	}
	imgDir := filepath.Join(dir, "img_align_celeba")
	if err := os.MkdirAll(imgDir, 0o755); err != nil {
		return fmt.Errorf("synthetic faces: %w", err)
	}

	attrs := make([][synthNumAttrs]bool, n)
	var (
		next     atomic.Int64
		stop     atomic.Bool
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	done := make(chan struct{}, 256)
	// Twice as many workers as cores and a few more: each file's fsync
	// (atomicfile) blocks a worker while the others keep the cores busy.
	workers := min(2*runtime.GOMAXPROCS(0)+4, n)
	for range workers {
		wg.Go(func() {
			var buf bytes.Buffer
			for !stop.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f := synthSample(seed, i)
				if flip != nil {
					synthFlip(&f, seed, i, flip)
				}
				attrs[i] = f.attr
				buf.Reset()
				err := jpeg.Encode(&buf, synthRender(&f, size).rgba(), &jpeg.Options{Quality: synthJPEGQuality})
				path := filepath.Join(imgDir, synthFileName(i))
				if err == nil {
					err = atomicfile.WriteFile(path, buf.Bytes())
				}
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("synthetic faces: writing %s: %w", path, err) })
					stop.Store(true)
					return
				}
				done <- struct{}{}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	count := 0
	for range done {
		count++
		if progress != nil {
			progress(count, n)
		}
	}
	if firstErr != nil {
		return firstErr
	}

	attrPath := filepath.Join(dir, "list_attr_celeba.txt")
	err := atomicfile.Write(attrPath, func(w io.Writer) error {
		return synthWriteAttrs(w, attrs)
	})
	if err != nil {
		return fmt.Errorf("synthetic faces: writing %s: %w", attrPath, err)
	}
	partPath := filepath.Join(dir, "list_eval_partition.txt")
	err = atomicfile.Write(partPath, func(w io.Writer) error {
		line := make([]byte, 0, 16)
		for i := range n {
			line = append(line[:0], synthFileName(i)...)
			line = append(line, ' ')
			line = strconv.AppendInt(line, int64(synthPartition(i, n)), 10)
			line = append(line, '\n')
			if _, err := w.Write(line); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("synthetic faces: writing %s: %w", partPath, err)
	}
	return nil
}

// synthWriteAttrs writes list_attr_celeba.txt as CelebA does: the count,
// the names separated by spaces (with CelebA's trailing space), then
// "000001.jpg -1  1 ..." with each value right-aligned in two columns.
func synthWriteAttrs(w io.Writer, attrs [][synthNumAttrs]bool) error {
	line := make([]byte, 0, 512)
	line = strconv.AppendInt(line, int64(len(attrs)), 10)
	line = append(line, '\n')
	for _, name := range synthAttrNames {
		line = append(line, name...)
		line = append(line, ' ')
	}
	line = append(line, '\n')
	if _, err := w.Write(line); err != nil {
		return err
	}
	for i, a := range attrs {
		line = append(line[:0], synthFileName(i)...)
		for _, v := range a {
			if v {
				line = append(line, "  1"...)
			} else {
				line = append(line, " -1"...)
			}
		}
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return nil
}
