// The self-hosted GraphQL playground: one HTML page plus the GraphiQL bundle that
// scripts/build-playground.mjs writes to build/playground/. Nothing is loaded from a CDN.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BUNDLE_DIR = fileURLToPath(new URL('../../../build/playground/', import.meta.url));

const PLAYGROUND_QUERY = `# The demo graph's newest migration runs. Press the run button (or Ctrl+Enter).
query DemoGraphHistory {
  graph(slug: "demo_knowledge") {
    name
    typeVersion
    migrations(limit: 5) {
      createdAt
      migrationId
      fromVersion
      toVersion
      status
      error
    }
  }
}
`;

export interface PlaygroundAsset {
  contentType: string;
  body: Buffer;
}

export interface Playground {
  page: string;
  assets: Map<string, PlaygroundAsset>;
}

/** Reads the bundle once. `authorization` pre-fills the headers editor (the embedded demo token). */
export function loadPlayground(options: { authorization?: string }): Playground {
  const read = (name: string) => {
    try {
      return readFileSync(BUNDLE_DIR + name);
    } catch {
      throw new Error(`The playground bundle ${BUNDLE_DIR}${name} is missing: run \`npm run generate\` (or set PLAYGROUND_ENABLED=false)`);
    }
  };
  const assets = new Map<string, PlaygroundAsset>([
    ['/playground/playground.js', { contentType: 'text/javascript; charset=utf-8', body: read('playground.js') }],
    ['/playground/playground.css', { contentType: 'text/css; charset=utf-8', body: read('playground.css') }],
  ]);
  const settings = {
    endpoint: '/graphql',
    query: PLAYGROUND_QUERY,
    headers: options.authorization ? JSON.stringify({ Authorization: options.authorization }, null, 2) : undefined,
  };
  // `<` is escaped so no value can close the script element.
  const json = JSON.stringify(settings).replace(/</g, '\\u003c');
  const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>graph-migrations-subgraph · GraphQL playground</title>
<link rel="stylesheet" href="/playground/playground.css">
<style>html, body, #playground { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="playground"></div>
<script type="application/json" id="playground-settings">${json}</script>
<script type="module" src="/playground/playground.js"></script>
</body>
</html>
`;
  return { page, assets };
}

/** Only what the page needs: its own scripts and styles, requests to this origin, nothing else. */
export const PLAYGROUND_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
