//go:build serve_httpapi

package main

// serve is added to the command tree here, with serve.go, once package httpapi is merged.
func init() { extraCommands = append(extraCommands, newServeCmd) }
