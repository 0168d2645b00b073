// The AssemblyScript SDK's kind-check runner for tests/sdkbench: supports checks the kind only;
// build plans the extension spec as the guest payload; run returns the payload.
import { BuildRequest, Output, Plan, RunRequest, Runner, Spec, register } from "../../../../guest-sdk/assemblyscript/assembly/index";

class Bench extends Runner {
  name(): string { return "bench-assemblyscript-sdk"; }
  supports(spec: Spec): bool { return spec.kind == "bench"; }
  build(req: BuildRequest): Plan { return Plan.guest(req.spec.extensionSpec); }
  run(req: RunRequest): Output {
    const p = req.payload;
    return p !== null ? Output.json(p) : Output.ok("null");
  }
}

register(new Bench());

export * from "../../../../guest-sdk/assemblyscript/assembly/exports";
