# Generates the JSON Schemas of abi/schema/ (run from that directory: python3 gen.py).
# The schemas describe what abi.ParseTaskSpec, ParseTask, ParsePlan and ParseDescription accept;
# abi/schema_test.go checks both against the corpus in abi/testdata/schema/.
import json, copy
NB = {"type":"string","pattern":"\\S"}  # not blank
LABEL_NAME = "[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
LABEL_KEY = {"type":"string","pattern":"^(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?/)?"+LABEL_NAME+"$",
             "not":{"pattern":"^[^/]*(?:\\.\\.|\\.-|-\\.)[^/]*/"}}
LABEL_VALUE = {"type":"string","pattern":"^(?:"+LABEL_NAME+")?$"}
DNS_SUB = "[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*"
U64 = {"type":"integer","minimum":0,"maximum":18446744073709551615}
MS = {"type":"integer","minimum":1,"maximum":18446744073709551615}
B64 = {"type":"string","minLength":4,"pattern":"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
       "contentEncoding":"base64","description":"padded standard base64 of UTF-8 text, at most 2 MiB decoded"}
STRS = {"type":"array","items":{"type":"string"}}
def obj(props, required=(), **kw):
    o = {"type":"object","properties":props,"additionalProperties":False}
    if required: o["required"]=list(required)
    o.update(kw); return o
def one(tag, schema):
    return obj({tag:schema},[tag])
defs = {}
defs["labels"] = {"type":"object","propertyNames":LABEL_KEY,"additionalProperties":LABEL_VALUE,
  "description":"Kubernetes label rules: keys are qualified names (an optional DNS-1123 subdomain prefix and '/'), values at most 63 chars"}
defs["envList"] = {"type":"array","items":obj({"key":{"type":"string"},"value":{"type":"string"}},["key","value"]),
  "description":"solti-model's ordered env; the last of a repeated key wins"}
defs["env"] = {"anyOf":[{"$ref":"#/$defs/envList"},{"type":"object","additionalProperties":{"type":"string"}}]}
defs["restart"] = {"type":"object","properties":{"type":{"enum":["never","onFailure","always"]},"intervalMs":U64},
  "additionalProperties":False,
  "if":{"required":["intervalMs"],"properties":{"intervalMs":{"minimum":1}}},
  "then":{"required":["type"],"properties":{"type":{"const":"always"}}}}
defs["restartG3"] = copy.deepcopy(defs["restart"]); defs["restartG3"]["required"]=["type"]
defs["backoff"] = obj({"jitter":{"enum":["full","none","equal","decorrelated"]},"firstMs":MS,"maxMs":MS,"factor":{"type":"number","minimum":1}},
  description="maxMs must be >= firstMs (after defaults: firstMs 1000, maxMs 30000), which JSON Schema cannot say")
defs["backoffG3"] = copy.deepcopy(defs["backoff"]); defs["backoffG3"]["required"]=["jitter","firstMs","maxMs","factor"]
defs["admission"] = {"enum":["dropIfRunning","replace","queue"]}
defs["slot"] = {"type":"string","pattern":"^[A-Za-z0-9._-]{1,64}$","not":{"enum":[".",".."]}}
req = obj({"key":LABEL_KEY,"operator":{"enum":["In","NotIn","Exists","DoesNotExist"]},"values":{"type":"array","items":LABEL_VALUE}},["key","operator"],
  allOf=[{"if":{"properties":{"operator":{"enum":["In","NotIn"]}}},"then":{"required":["values"],"properties":{"values":{"minItems":1}}},
          "else":{"properties":{"values":{"maxItems":0}}}}])
defs["runnerSelector"] = obj({"matchLabels":{"$ref":"#/$defs/labels"},"matchExpressions":{"type":"array","items":req}})
command = one("command", obj({"command":NB,"args":STRS},["command"]))
custom = one("custom", obj({"command":NB,"flag":{"type":"string"}},["command","flag"]))
def script(g3):
    rt = {"anyOf":[{"enum":["bash","python","node"]} if g3 else NB, custom]}
    props = {"interpreter":NB,"runtime":rt,"body":B64,"args":STRS}
    if not g3: props["flag"]={"type":"string"}
    return one("script", obj(props,["body"],oneOf=[{"required":["interpreter"]},{"required":["runtime"]}]))
defs["modeV1"] = {"oneOf":[command, script(False)]}
defs["modeG3"] = {"oneOf":[command, script(True)]}
def kinds(env, mode):
    return {
      "subprocess": obj({"mode":{"$ref":"#/$defs/"+mode},"env":{"$ref":"#/$defs/"+env},"cwd":{"type":"string"},"failOnNonZero":{"type":"boolean"}},["mode"]),
      "wasm": obj({"module":NB,"args":STRS,"env":{"$ref":"#/$defs/"+env}},["module"]),
      "container": obj({"image":NB,"command":STRS,"args":STRS,"env":{"$ref":"#/$defs/"+env}},["image"]),
    }
kv1 = kinds("env","modeV1"); kg3 = kinds("envList","modeG3")
gvk_type = "^"+DNS_SUB+"\\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?/[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?/[A-Za-z](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?$"
defs["kindType"] = {"type":"string","anyOf":[
   {"pattern":"^[a-z0-9](?:[a-z0-9._/-]{0,126}[a-z0-9])?$","not":{"enum":["subprocess","wasm","container","embedded","extension"]}},
   {"pattern":gvk_type,"not":{"pattern":"^solti\\.io/"}}],
   "description":"an ABI v1 extension type, or a GVK's type group/version/Kind (see ABI.md §5.1)"}
defs["kind"] = {"oneOf":[{"const":"embedded"},
   one("subprocess",kv1["subprocess"]), one("wasm",kv1["wasm"]), one("container",kv1["container"]),
   one("extension", obj({"type":{"$ref":"#/$defs/kindType"},"spec":True},["type"]))]}
builtin = []
for name,k in [("Subprocess","subprocess"),("Wasm","wasm"),("Container","container")]:
    builtin.append(obj({"apiVersion":{"const":"solti.io/v1"},"kind":{"const":name},"spec":kg3[k]},["apiVersion","kind","spec"]))
ext = obj({"apiVersion":{"type":"string","pattern":"^"+DNS_SUB+"\\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?/[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$","not":{"pattern":"^solti\\.io/"}},
           "kind":{"type":"string","pattern":"^[A-Za-z](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?$"},
           "spec":{"type":"object","description":"free JSON, at most 128 levels deep"}},["apiVersion","kind","spec"])
defs["workload"] = {"oneOf":builtin+[ext]}
common = {"slot":{"$ref":"#/$defs/slot"},"timeout":MS,"admission":{"$ref":"#/$defs/admission"},"runnerSelector":{"$ref":"#/$defs/runnerSelector"}}
v1 = dict(common); v1.update({"kind":{"$ref":"#/$defs/kind"},"restart":{"$ref":"#/$defs/restart"},"backoff":{"$ref":"#/$defs/backoff"},
   "maxRetries":{"type":"integer","minimum":0,"maximum":4294967295,"description":"0 or absent: unlimited"},"labels":{"$ref":"#/$defs/labels"}})
defs["specV1"] = obj(v1,["slot","kind","timeout"],description="ABI v1 TaskSpec: solti-model's older generation (kind), policies defaulted")
g3 = dict(common); g3.update({"workload":{"$ref":"#/$defs/workload"},"restart":{"$ref":"#/$defs/restartG3"},"backoff":{"$ref":"#/$defs/backoffG3"},
   "maxRetries":{"type":"integer","minimum":1,"maximum":4294967295,"description":"absent: unlimited"}})
defs["specG3"] = obj(g3,["slot","workload","timeout","restart","backoff","admission"],description="solti-model's current TaskSpec (workload)")
ann = {"type":"object","propertyNames":LABEL_KEY,"additionalProperties":{"type":"string"}}
meta = obj({"name":{"type":"string","maxLength":253,"pattern":"^"+DNS_SUB+"$"},"uid":{"type":"string"},"resourceVersion":{"type":"string"},
   "generation":U64,"creationTimestamp":{"type":"string"},"labels":{"$ref":"#/$defs/labels"},"annotations":ann},["name"])
defs["task"] = obj({"apiVersion":{"const":"solti.io/v1"},"kind":{"const":"Task"},"metadata":meta,"spec":{"$ref":"#/$defs/specG3"},"status":{"type":"object"}},
   ["apiVersion","kind","metadata","spec"],description="a Task manifest; metadata.labels are the task's labels")
S = "https://json-schema.org/draft/2020-12/schema"
def doc(id_, title, root):
    d = {"$schema":S,"$id":"urn:solti-wasm:abi:v1:"+id_,"title":title}
    d.update(root); d["$defs"]=defs; return d
out = {
 "taskspec": doc("taskspec","solti-wasm TaskSpec: what the host accepts where a task spec is expected (ABI.md §5.1)",
     {"oneOf":[{"$ref":"#/$defs/specV1"},{"$ref":"#/$defs/specG3"},{"$ref":"#/$defs/task"}]}),
 "task": doc("task","solti Task manifest (current generation)",{"$ref":"#/$defs/task"}),
}
penv = {"anyOf":[{"$ref":"#/$defs/envList"},{"type":"object","additionalProperties":{"type":"string"}}]}
plan = {"$schema":S,"$id":"urn:solti-wasm:abi:v1:plan","title":"solti-wasm Plan: the output of build (ABI.md §5.3)",
 "oneOf":[one("guest",obj({"payload":True})),
          one("exec",obj({"command":NB,"args":STRS,"env":{"$ref":"#/$defs/env"},"cwd":{"type":"string"},"failOnNonZero":{"type":"boolean"}},["command"])),
          one("wasi",obj({"module":NB,"args":STRS,"env":{"$ref":"#/$defs/env"},
            "stdin":{"type":"string","pattern":"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$","contentEncoding":"base64",
                     "description":"padded standard base64 of the command's standard input"},
            "mounts":{"type":"array","items":obj({"guest":{"type":"string","pattern":"^/"},"mode":{"enum":["ro","rw"]}},["guest"]),
                      "description":"directories the plan asks for, each granted by the host's --wasi-mount policy; guest paths absolute, clean and unique"}},["module"]))],
 "$defs":{"env":penv,"envList":defs["envList"]}}
desc = {"$schema":S,"$id":"urn:solti-wasm:abi:v1:description","title":"solti-wasm Description: the output of describe (ABI.md §5.4); unknown fields are ignored",
 "type":"object","properties":{"version":{"type":"string"},"kinds":{"type":"array","items":{"anyOf":[{"enum":["subprocess","wasm","container"]},{"$ref":"#/$defs/kindType"}]}},
   "labels":{"$ref":"#/$defs/labels"},"description":{"type":"string"},"sample":{"description":"a TaskSpec (taskspec schema), checked when the host smoke-tests the module"}},
 "$defs":{"kindType":defs["kindType"],"labels":defs["labels"]}}
out["plan"]=plan; out["description"]=desc
for k,v in out.items():
    open(k+".json","w").write(json.dumps(v,indent=2,ensure_ascii=False)+"\n")
