// Bundles the playground (playground/main.jsx: GraphiQL + React) into build/playground/, which the
// service serves at /playground/*. Runs as part of `npm run generate`, so start, build and test have it.
import { build } from 'esbuild';

await build({
  entryPoints: ['playground/main.jsx'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  jsx: 'automatic',
  outdir: 'build/playground',
  entryNames: 'playground',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
  legalComments: 'linked',
});
