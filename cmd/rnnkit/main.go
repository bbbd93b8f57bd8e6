// Command rnnkit trains and runs recurrent neural networks over text: a
// character-level generator, a review sentiment classifier and an
// English-Spanish translator. See `rnnkit --help`.
package main

import "os"

func main() { os.Exit(run(os.Args[1:])) }
