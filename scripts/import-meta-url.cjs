// Injected into the CommonJS builds of the CLI: import.meta.url as it would be for this file.
export const importMetaUrl = require('node:url').pathToFileURL(__filename).href;
