package model

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/csvae-gpu/csvae-gpu/safetensors"
)

// A checkpoint is one safetensors file holding everything a run needs to
// continue exactly where it stopped: every parameter under its own name (so
// other tools can read the weights), Adam's moments as flat tensors per
// optimizer, and in the metadata the configuration, the epoch, the Adam step
// counts and the position in the noise stream.

const checkpointFormat = "csvae-gpu/1"

// Position is where in training a checkpoint was taken: Epoch epochs done
// and Batch batches of the next one, with the running sums of that epoch's
// training losses so its CSV row comes out as if never interrupted.
type Position struct {
	Epoch int    `json:"epoch"`
	Batch int    `json:"batch"`
	Sum   Losses `json:"sum"`
	Count int    `json:"count"`
}

// SaveCheckpoint writes net's state at pos to path atomically.
func SaveCheckpoint(path string, net *Net, pos Position) error {
	cfg, err := json.Marshal(net.Cfg)
	if err != nil {
		return err
	}
	posJSON, err := json.Marshal(pos)
	if err != nil {
		return err
	}
	meta := map[string]string{
		"format":   checkpointFormat,
		"config":   string(cfg),
		"position": string(posJSON),
		"offset":   strconv.FormatUint(net.Offset, 10),
	}
	var ts []safetensors.Tensor
	for _, ps := range net.paramSets() {
		values, m, v := ps.State(net.be)
		for _, p := range ps.Params() {
			ts = append(ts, safetensors.F32(p.Name, p.Shape, values[p.off:p.off+p.Size()]))
		}
		if ps.Trainable {
			ts = append(ts,
				safetensors.F32("adam."+ps.Name+".m", []int{ps.Size()}, m),
				safetensors.F32("adam."+ps.Name+".v", []int{ps.Size()}, v))
			meta["step."+ps.Name] = strconv.Itoa(ps.Step)
		}
		if avg := ps.Average(net.be); avg != nil {
			ts = append(ts, safetensors.F32("ema."+ps.Name, []int{ps.Size()}, avg))
		}
	}
	return safetensors.WriteFile(path, safetensors.File{Tensors: ts, Metadata: meta})
}

func (m *Net) paramSets() []*ParamSet {
	sets := []*ParamSet{m.Main}
	if m.Adv != nil {
		sets = append(sets, m.Adv)
	}
	if m.State != nil {
		sets = append(sets, m.State)
	}
	return sets
}

// LoadCheckpoint rebuilds the net saved at path on be (for batches of up to
// maxBatch, or the configured batch when maxBatch is 0) and returns it with
// the position it was saved at.
func LoadCheckpoint(path string, be Backend, maxBatch int) (*Net, Position, error) {
	var pos Position
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, pos, err
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%s: not a csvae-gpu checkpoint: %s", path, fmt.Sprintf(format, a...))
	}
	if f.Metadata["format"] != checkpointFormat {
		return nil, pos, bad("format %q, want %q", f.Metadata["format"], checkpointFormat)
	}
	var cfg Config
	if err := json.Unmarshal([]byte(f.Metadata["config"]), &cfg); err != nil {
		return nil, pos, bad("configuration: %v", err)
	}
	if err := json.Unmarshal([]byte(f.Metadata["position"]), &pos); err != nil {
		return nil, pos, bad("position: %v", err)
	}
	offset, err := strconv.ParseUint(f.Metadata["offset"], 10, 64)
	if err != nil {
		return nil, pos, bad("offset: %v", err)
	}
	if maxBatch < 1 {
		maxBatch = cfg.Batch
	}
	net, err := NewNet(be, cfg, maxBatch)
	if err != nil {
		return nil, pos, fmt.Errorf("%s: %w", path, err)
	}
	net.Offset = offset
	for _, ps := range net.paramSets() {
		values := make([]float32, ps.Size())
		for _, p := range ps.Params() {
			t, ok := f.Get(p.Name)
			if !ok {
				return nil, pos, bad("parameter %s is missing", p.Name)
			}
			v, err := t.Float32s()
			if err != nil || len(v) != p.Size() {
				return nil, pos, bad("parameter %s: shape %v, want %v", p.Name, t.Shape, p.Shape)
			}
			copy(values[p.off:], v)
		}
		if ps.avg != nil { // the sets NewNet gave an average, as saved
			t, ok := f.Get("ema." + ps.Name)
			if !ok {
				return nil, pos, bad("the moving average ema.%s is missing", ps.Name)
			}
			avg, err := t.Float32s()
			if err != nil || len(avg) != ps.Size() {
				return nil, pos, bad("the moving average ema.%s has the wrong size", ps.Name)
			}
			if err := ps.SetAverage(be, avg); err != nil {
				return nil, pos, bad("%v", err)
			}
		}
		if !ps.Trainable {
			if err := ps.SetState(be, values, nil, nil); err != nil {
				return nil, pos, bad("%v", err)
			}
			continue
		}
		var mv [2][]float32
		for i, which := range []string{"m", "v"} {
			t, ok := f.Get("adam." + ps.Name + "." + which)
			if !ok {
				return nil, pos, bad("optimizer state adam.%s.%s is missing", ps.Name, which)
			}
			if mv[i], err = t.Float32s(); err != nil || len(mv[i]) != ps.Size() {
				return nil, pos, bad("optimizer state adam.%s.%s has the wrong size", ps.Name, which)
			}
		}
		if err := ps.SetState(be, values, mv[0], mv[1]); err != nil {
			return nil, pos, bad("%v", err)
		}
		if ps.Step, err = strconv.Atoi(f.Metadata["step."+ps.Name]); err != nil {
			return nil, pos, bad("step of %s: %v", ps.Name, err)
		}
	}
	return net, pos, nil
}
