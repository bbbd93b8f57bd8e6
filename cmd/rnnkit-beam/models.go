package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"

	"github.com/rnnkit/rnnkit/cmd/rnnkit/models"
	"github.com/rnnkit/rnnkit/rnn"
)

// defaultModel returns the embedded default model file of an application
// ("charrnn", "sentiment", "seq2seq", "seq2seq-es-en"): the same files
// `rnnkit` embeds (package github.com/rnnkit/rnnkit/cmd/rnnkit/models).
func defaultModel(kind string) (name string, data []byte, err error) {
	data, err = models.FS.ReadFile(kind + ".safetensors")
	if err != nil {
		return "", nil, fmt.Errorf("this rnnkit-beam build has no embedded %s model; pass --model FILE (a path every worker can read: local or gs://)", kind)
	}
	return "embedded:models/" + kind + ".safetensors", data, nil
}

// modelCache holds the models loaded in this process, by kind and path,
// so that every DoFn instance of a worker (one per bundle processed at
// once) shares one read-only copy: the models are safe for concurrent use.
var modelCache sync.Map // cacheKey -> *cached

type cacheKey struct{ kind, path string }

type cached struct {
	once sync.Once
	m    any
	err  error
}

// loadCached loads the model at path (the embedded default of kind when
// path is empty) once per process. Local paths are read by the library's
// loader; other file systems (gs://) through Beam's.
func loadCached[M any](ctx context.Context, kind, path string, load func(string) (M, error), loadBytes func(string, []byte) (M, error)) (M, error) {
	v, _ := modelCache.LoadOrStore(cacheKey{kind, path}, &cached{})
	c := v.(*cached)
	c.once.Do(func() {
		var int8File bool
		switch {
		case path == "":
			var name string
			var data []byte
			if name, data, c.err = defaultModel(kind); c.err == nil {
				c.m, c.err = loadBytes(name, data)
				int8File = rnn.StoresQ8(bytes.NewReader(data), int64(len(data)))
			}
		case isLocal(path):
			if c.m, c.err = load(path); c.err == nil {
				if f, err := os.Open(path); err == nil {
					if st, err := f.Stat(); err == nil {
						int8File = rnn.StoresQ8(f, st.Size())
					}
					f.Close()
				}
			}
		default:
			var data []byte
			if data, c.err = readAll(ctx, path); c.err == nil {
				c.m, c.err = loadBytes(path, data)
				int8File = rnn.StoresQ8(bytes.NewReader(data), int64(len(data)))
			}
		}
		// As rnnkit's --quantize auto: a model stored as int8 runs int8
		// arithmetic, so the pipelines answer as the CLI does.
		if q, ok := c.m.(interface{ Quantize() }); ok && c.err == nil && int8File {
			q.Quantize()
		}
	})
	if c.err != nil {
		modelCache.CompareAndDelete(cacheKey{kind, path}, c) // the next Setup tries again
		var zero M
		return zero, c.err
	}
	return c.m.(M), nil
}

// readAll reads a whole file through Beam's file systems.
func readAll(ctx context.Context, path string) ([]byte, error) {
	fsys, err := filesystem.New(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("model file %s: %v", path, err)
	}
	defer fsys.Close()
	rc, err := fsys.OpenRead(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("model file %s: %v", path, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("model file %s: %v", path, err)
	}
	return b, nil
}
