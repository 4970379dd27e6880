package cuda

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Entry is a kernel declared in a PTX module: its name and the size in bytes
// of each parameter. The device reads it to know which kernels a module holds
// and to refuse a launch with the wrong number of arguments, which the driver
// cannot detect (it reads one value per declared parameter, whatever we pass).
type Entry struct {
	Name   string
	Params []int
}

var (
	entryRe = regexp.MustCompile(`\.entry\s+([A-Za-z_$][A-Za-z0-9_$]*)\s*\(`)
	// A scalar parameter: ".param .u64 name" (nvcc may add ".ptr", a state
	// space and ".align N" after the type).
	scalarRe = regexp.MustCompile(`^\.param\s+\.[bsuf](8|16|32|64)\b`)
	// An aggregate parameter: ".param .align 8 .b8 name[16]".
	arrayRe = regexp.MustCompile(`^\.param\s+\.align\s+\d+\s+\.b8\s+[^\[\s]+\[(\d+)\]`)
)

// ParseEntries lists the kernels (".entry" directives) of a PTX module in
// the order they appear.
func ParseEntries(ptx string) ([]Entry, error) {
	var out []Entry
	lines := strings.Split(ptx, "\n")
	for i := 0; i < len(lines); i++ {
		m := entryRe.FindStringSubmatchIndex(lines[i])
		if m == nil || strings.HasPrefix(strings.TrimSpace(lines[i]), "//") {
			continue
		}
		e := Entry{Name: lines[i][m[2]:m[3]]}
		// The parameter list runs from the "(" to the matching ")", one
		// parameter a line, or is empty: "name()".
		rest := lines[i][m[1]:]
		for !strings.Contains(rest, ")") {
			i++
			if i >= len(lines) {
				return nil, fmt.Errorf("ptx: kernel %s: parameter list not closed", e.Name)
			}
			rest = lines[i]
			p := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(strings.SplitN(rest, ")", 2)[0]), ","))
			if p == "" {
				continue
			}
			size, err := paramSize(p)
			if err != nil {
				return nil, fmt.Errorf("ptx: kernel %s, line %d: %w", e.Name, i+1, err)
			}
			e.Params = append(e.Params, size)
		}
		out = append(out, e)
	}
	return out, nil
}

func paramSize(decl string) (int, error) {
	if m := scalarRe.FindStringSubmatch(decl); m != nil {
		bits, _ := strconv.Atoi(m[1])
		return bits / 8, nil
	}
	if m := arrayRe.FindStringSubmatch(decl); m != nil {
		return strconv.Atoi(m[1])
	}
	return 0, fmt.Errorf("unrecognised parameter %q", decl)
}
