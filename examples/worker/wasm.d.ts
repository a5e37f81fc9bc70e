// A .wasm import in a Worker bundle is a compiled module (wrangler's CompiledWasm rule).
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
