// Command wasifs is a WASI command for the mount tests: it runs its arguments as operations, in
// order, and at the first failure prints "OP: error" to stderr and exits 1.
//
//	stdin                copy stdin to stdout
//	cat:PATH             print the file
//	write:PATH:TEXT      create or truncate the file with TEXT
//	append:PATH:TEXT     append TEXT to the file
//	ls:DIR               print the names in DIR, one a line
//	mkdir:PATH, rm:PATH  make a directory, remove a file or empty directory
//	symlink:TARGET:LINK  make LINK point to TARGET
//	readlink:PATH        print the link's target
//	pwd                  print the working directory
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	for _, arg := range os.Args[1:] {
		if err := do(arg); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", arg, err)
			os.Exit(1)
		}
	}
}

func do(arg string) error {
	op, rest, _ := strings.Cut(arg, ":")
	a, b, _ := strings.Cut(rest, ":")
	switch op {
	case "stdin":
		_, err := io.Copy(os.Stdout, os.Stdin)
		return err
	case "cat":
		data, err := os.ReadFile(a)
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(data)
		return err
	case "write":
		return os.WriteFile(a, []byte(b), 0o644)
	case "append":
		f, err := os.OpenFile(a, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		if _, err := f.WriteString(b); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	case "ls":
		entries, err := os.ReadDir(a)
		if err != nil {
			return err
		}
		for _, e := range entries {
			fmt.Println(e.Name())
		}
		return nil
	case "mkdir":
		return os.Mkdir(a, 0o755)
	case "rm":
		return os.Remove(a)
	case "symlink":
		return os.Symlink(a, b)
	case "readlink":
		s, err := os.Readlink(a)
		if err != nil {
			return err
		}
		fmt.Println(s)
		return nil
	case "pwd":
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		fmt.Println(wd)
		return nil
	}
	return fmt.Errorf("unknown operation %q", op)
}
