//go:build !unix

package main

import "os"

// terminalWidth is the columns of the terminal f is, or 0 when unknown.
func terminalWidth(*os.File) int { return 0 }
