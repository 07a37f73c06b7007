// D3 ships as a UMD bundle; evaluated as a module it attaches itself to globalThis.
import "../vendor/d3/d3.min.js";

const d3 = globalThis.d3;
export default d3;
