package wasmbin

// Limits are the implementation limits a module must stay within. A zero field means the
// default from [DefaultLimits].
//
// The defaults are the WebAssembly JS API's implementation limits (the numbers browsers
// enforce), so a module any browser accepts is not refused for its size here, plus a nesting
// depth and name-section bounds, which the JS API does not fix.
type Limits struct {
	MaxTypes            uint32 // entries in the type section
	MaxFunctions        uint32 // functions, imported and defined
	MaxImports          uint32 // entries in the import section
	MaxExports          uint32 // entries in the export section
	MaxGlobals          uint32 // globals, imported and defined
	MaxDataSegments     uint32 // entries in the data section
	MaxTables           uint32 // tables, imported and defined
	MaxMemories         uint32 // memories, imported and defined
	MaxTableSize        uint32 // a table's declared minimum and maximum, in elements
	MaxElementSegments  uint32 // entries in the element section
	MaxFunctionBodySize uint32 // bytes of one code section entry
	MaxLocals           uint32 // parameters plus declared locals of one function
	MaxParams           uint32 // parameters of one function type
	MaxResults          uint32 // results of one function type
	MaxMemoryPages      uint32 // a memory's declared minimum and maximum, in 64 KiB pages
	MaxStringLength     uint32 // bytes of an import, export or custom section name

	// MaxNestingDepth caps open control structures (block, loop, if, plus the function's own
	// frame) at any point of a function body. wazero's optimizing compiler is quadratic in
	// nesting depth; see DefaultNestingDepth.
	MaxNestingDepth uint32
	// MaxNameEntries caps the entries of all maps in the "name" custom section together
	// (function names, and local names summed over functions).
	MaxNameEntries uint32
}

// DefaultNestingDepth is the default MaxNestingDepth. wazero's optimizing compiler is
// quadratic in nesting: measured on a loaded two-core machine (TestNestingDepthCompileCost),
// one function nested 1,000 deep compiles in 33 ms, 2,047 in 36-150 ms, 4,095 in 0.55 s,
// 10,000 in 0.9-2 s, 30,000 in 5.6 s, so the cost per byte of such code grows with the depth
// (11 µs per byte at 1,000, 45 at 4,000; ordinary Go code: 1.2). Toolchains nest little, except
// Go, whose resumable functions nest a block per resume point: the Go example runners reach 550
// (in the Go runtime itself). 2,048 leaves Go almost four times that, keeps one function at the
// limit under 0.15 s, and keeps the worst code within about 20 times ordinary code's compile
// cost per byte, which the module size cap and the compile budget then bound.
const DefaultNestingDepth = 2048

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{
		MaxTypes:            1_000_000,
		MaxFunctions:        1_000_000,
		MaxImports:          100_000,
		MaxExports:          100_000,
		MaxGlobals:          1_000_000,
		MaxDataSegments:     100_000,
		MaxTables:           100_000,
		MaxMemories:         1,
		MaxTableSize:        10_000_000,
		MaxElementSegments:  10_000_000,
		MaxFunctionBodySize: 7_654_321,
		MaxLocals:           50_000,
		MaxParams:           1_000,
		MaxResults:          1_000,
		MaxMemoryPages:      65_536,
		MaxStringLength:     100_000,
		MaxNestingDepth:     DefaultNestingDepth,
		MaxNameEntries:      1_000_000,
	}
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	fill := func(v *uint32, def uint32) {
		if *v == 0 {
			*v = def
		}
	}
	fill(&l.MaxTypes, d.MaxTypes)
	fill(&l.MaxFunctions, d.MaxFunctions)
	fill(&l.MaxImports, d.MaxImports)
	fill(&l.MaxExports, d.MaxExports)
	fill(&l.MaxGlobals, d.MaxGlobals)
	fill(&l.MaxDataSegments, d.MaxDataSegments)
	fill(&l.MaxTables, d.MaxTables)
	fill(&l.MaxMemories, d.MaxMemories)
	fill(&l.MaxTableSize, d.MaxTableSize)
	fill(&l.MaxElementSegments, d.MaxElementSegments)
	fill(&l.MaxFunctionBodySize, d.MaxFunctionBodySize)
	fill(&l.MaxLocals, d.MaxLocals)
	fill(&l.MaxParams, d.MaxParams)
	fill(&l.MaxResults, d.MaxResults)
	fill(&l.MaxMemoryPages, d.MaxMemoryPages)
	fill(&l.MaxStringLength, d.MaxStringLength)
	fill(&l.MaxNestingDepth, d.MaxNestingDepth)
	fill(&l.MaxNameEntries, d.MaxNameEntries)
	return l
}
