// The GraphQL playground: GraphiQL from npm, bundled at build time (scripts/build-playground.mjs)
// and served by the service itself, so it works offline and behind strict networks.
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import 'graphiql/graphiql.css';
import { getOperationAST } from 'graphql';
import { createClient, NetworkError } from 'graphql-sse';
import React from 'react';
import { createRoot } from 'react-dom/client';

// The page carries its settings as JSON (no inline script, so a strict CSP holds).
const settings = JSON.parse(document.getElementById('playground-settings').textContent);

// Queries and mutations: POST /graphql, as GraphiQL's own fetcher sends them.
const httpFetcher = createGraphiQLFetcher({ url: settings.endpoint });

/** The operation GraphiQL runs (the one named, or the document's only one) is a subscription. */
function isSubscription(params, options) {
  const document = options?.documentAST;
  return document !== undefined && getOperationAST(document, params.operationName || undefined)?.operation === 'subscription';
}

/** A refusal's GraphQL answer (400 with the errors, 503 when the instance takes no more streams), if the service sent one. */
async function refusalBody(error) {
  const response = error instanceof NetworkError ? error.response : undefined;
  if (!response || !/\bjson\b/i.test(response.headers.get('content-type') ?? '')) return undefined;
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

/**
 * A subscription over GraphQL over SSE (graphql-sse's client, distinct connections mode: one POST
 * /graphql with Accept: text/event-stream), carrying the headers editor's headers as the queries do:
 * the same Authorization, on an ordinary same-origin request (a browser's WebSocket could carry none).
 * An Observable, so GraphiQL's stop button ends it at once (the request is aborted). Never retried: a
 * refusal is shown as the service answered it, and running it again is the user's to decide.
 */
function subscribeOverSse(params, headers) {
  return {
    subscribe(sink) {
      const client = createClient({ url: settings.endpoint, headers: { ...headers }, retryAttempts: 0 });
      let open = true;
      const close = () => {
        open = false;
        client.dispose();
      };
      client.subscribe(params, {
        next: (result) => open && sink.next(result),
        complete: () => {
          if (!open) return;
          close();
          sink.complete();
        },
        // The refusal's body is read before the client is disposed: disposing aborts its request, body included.
        error: (error) => {
          if (!open) return;
          void refusalBody(error).then((body) => {
            if (!open) return;
            close();
            if (body === undefined) return sink.error(error);
            sink.next(body);
            sink.complete();
          });
        },
      });
      return { unsubscribe: close };
    },
  };
}

const fetcher = (params, options) =>
  isSubscription(params, options) ? subscribeOverSse(params, options.headers) : httpFetcher(params, options);

createRoot(document.getElementById('playground')).render(
  <GraphiQL
    fetcher={fetcher}
    query={settings.query}
    headers={settings.headers}
    // A new tab ("+"), and a tab kept from an earlier visit (headers are not stored), gets these headers too: the demo token.
    defaultHeaders={settings.headers}
    defaultEditorToolsVisibility={settings.headers ? 'headers' : false}
    isHeadersEditorEnabled
    shouldPersistHeaders={false}
  />,
);
