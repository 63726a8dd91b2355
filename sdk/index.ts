// `import { … } from "passthru-mux/sdk"` resolves here: asc looks for node_modules/PKG/PATH.ts,
// then node_modules/PKG/PATH/index.ts.
export * from "./assembly/index";
