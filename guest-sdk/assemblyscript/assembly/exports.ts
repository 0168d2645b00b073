// The ABI v1 exports. Re-export them from a runner's entry file:
//
//   export * from "<sdk>/assembly/exports";

import { exportName, exportDescribe, exportSupports, exportBuild, exportRun } from "./index";

export function solti_abi_v1(): void {}
export function name(): i32 { return exportName(); }
export function describe(): i32 { return exportDescribe(); }
export function supports(len: i32): i32 { return exportSupports(len); }
export function build(len: i32): i32 { return exportBuild(len); }
export function run(len: i32): i32 { return exportRun(len); }
