package nodes

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/tensor"
	"github.com/comfygate/comfygate/internal/imaging"
)

// saver is SaveImage and PreviewImage: same code, other directory, type and
// file prefix.
type saver struct {
	kind         string // "output" or "temp"
	prefixAppend string
}

// tempLetters is PreviewImage's alphabet, typo included ("p" twice, no "w").
const tempLetters = "abcdefghijklmnopqrstupvxyz"

func newPreviewImage(c *Call) Node {
	var b strings.Builder
	for range 5 {
		b.WriteByte(tempLetters[c.Rand.IntN(len(tempLetters))])
	}
	return &saver{kind: "temp", prefixAppend: "_temp_" + b.String()}
}

func saveNodes() map[string]Def {
	return map[string]Def{
		"SaveImage":    {New: func(*Call) Node { return &saver{kind: "output"} }},
		"PreviewImage": {New: newPreviewImage},
	}
}

func (s *saver) Run(c *Call) (Result, error) {
	a := c.args()
	images := a.Image("images")
	prefix := a.StrOr("filename_prefix", "ComfyUI")
	if a.err != nil {
		return Result{}, a.err
	}
	prefix += s.prefixAppend
	p, err := saveImagePath(c.Dir(s.kind), prefix, images.W, images.H)
	if err != nil {
		return Result{}, err
	}
	text := pngText(c)
	var results []any
	for i := 0; i < images.N; i++ {
		name := strings.ReplaceAll(p.filename, "%batch_num%", strconv.Itoa(i))
		file := fmt.Sprintf("%s_%05d_.png", name, p.counter)
		data, err := imaging.EncodePNG(tensor.ToImage(images, i), text)
		if err != nil {
			return Result{}, Raise("OSError", "%v", err)
		}
		full := filepath.Join(p.folder, file)
		if err := os.WriteFile(full, data, 0o644); err != nil {
			return Result{}, Raise("OSError", "%v", err)
		}
		results = append(results, comfyjson.Object{
			{Key: "filename", Value: file},
			{Key: "subfolder", Value: p.subfolder},
			{Key: "type", Value: s.kind},
		})
		p.counter++
	}
	if results == nil {
		results = []any{}
	}
	return Result{Outputs: []any{}, UI: comfyjson.Object{{Key: "images", Value: results}}}, nil
}

// pngText is the metadata SaveImage writes: the prompt, then every key of
// extra_pnginfo, each as json.dumps.
func pngText(c *Call) []imaging.TextChunk {
	var text []imaging.TextChunk
	if c.Prompt != nil {
		text = append(text, imaging.TextChunk{Key: "prompt", Value: string(comfyjson.MustDumps(c.Prompt))})
	}
	if extra, ok := c.ExtraPNGInfo.(comfyjson.Object); ok {
		for _, m := range extra {
			text = append(text, imaging.TextChunk{Key: m.Key, Value: string(comfyjson.MustDumps(m.Value))})
		}
	}
	return text
}

type savePath struct {
	folder, filename, subfolder string
	counter                     int64
}

// saveImagePath is folder_paths.get_save_image_path.
func saveImagePath(outputDir, prefix string, width, height int) (savePath, error) {
	if strings.Contains(prefix, "%") {
		prefix = computeVars(prefix, width, height)
	}
	norm := PyNormpath(prefix)
	p := savePath{subfolder: PyDirname(norm), filename: PyBasename(norm)}
	p.folder = PyJoin(outputDir, p.subfolder)
	if !Within(outputDir, p.folder) {
		abs, _ := filepath.Abs(p.folder)
		return p, Raise("Exception", "**** ERROR: Saving image outside the output folder is not allowed.\n full_output_folder: %s\n         output_dir: %s\n         commonpath: %s",
			abs, outputDir, commonPath(outputDir, abs))
	}
	entries, err := os.ReadDir(p.folder)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(p.folder, 0o755); err != nil {
			return p, Raise("OSError", "%v", err)
		}
	} else if err != nil {
		return p, Raise("OSError", "%v", err)
	}
	p.counter = nextCounter(entries, []rune(PyBasename(prefix)), p.filename) + 1
	return p, nil
}

// nextCounter is the highest counter among files named
// "<filename>_<digits>..." (0 when there is none).
func nextCounter(entries []fs.DirEntry, prefixBase []rune, filename string) int64 {
	var best int64
	for _, e := range entries {
		name := []rune(e.Name())
		n := min(len(prefixBase)+1, len(name))
		head := string(name[:n])
		if len(head) == 0 || !strings.HasSuffix(head, "_") || strings.TrimSuffix(head, "_") != filename {
			continue
		}
		rest := string(name[n:])
		digits, ok := pyInt(strings.SplitN(rest, "_", 2)[0])
		if !ok {
			digits = 0
		}
		best = max(best, digits)
	}
	return best
}

func commonPath(a, b string) string {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	var out []string
	for i := 0; i < len(as) && i < len(bs) && as[i] == bs[i]; i++ {
		out = append(out, as[i])
	}
	if len(out) == 1 && out[0] == "" {
		return "/"
	}
	return strings.Join(out, "/")
}

func computeVars(s string, width, height int) string {
	now := time.Now()
	r := strings.NewReplacer(
		"%width%", strconv.Itoa(width),
		"%height%", strconv.Itoa(height),
		"%year%", strconv.Itoa(now.Year()),
		"%month%", fmt.Sprintf("%02d", int(now.Month())),
		"%day%", fmt.Sprintf("%02d", now.Day()),
		"%hour%", fmt.Sprintf("%02d", now.Hour()),
		"%minute%", fmt.Sprintf("%02d", now.Minute()),
		"%second%", fmt.Sprintf("%02d", now.Second()),
	)
	return r.Replace(s)
}
