//go:build !unix

package corpora

import "context"

// lockFile is a no-op where flock is not available: concurrent fetches of
// one corpus are not guarded there.
func lockFile(ctx context.Context, path string) (func(), error) { return func() {}, ctx.Err() }
