// The GraphQL playground: GraphiQL from npm, bundled at build time (scripts/build-playground.mjs)
// and served by the service itself, so it works offline and behind strict networks.
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import 'graphiql/graphiql.css';
import React from 'react';
import { createRoot } from 'react-dom/client';

// The page carries its settings as JSON (no inline script, so a strict CSP holds).
const settings = JSON.parse(document.getElementById('playground-settings').textContent);
const fetcher = createGraphiQLFetcher({ url: settings.endpoint });

createRoot(document.getElementById('playground')).render(
  <GraphiQL
    fetcher={fetcher}
    query={settings.query}
    headers={settings.headers}
    defaultEditorToolsVisibility={settings.headers ? 'headers' : false}
    isHeadersEditorEnabled
    shouldPersistHeaders={false}
  />,
);
