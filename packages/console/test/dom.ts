// A DOM for component tests that also run a real gateway in the same file. Vitest's happy-dom
// environment replaces Node's URL, fetch and Request with the browser's (the gateway and the test
// database need Node's, and the console's calls would be cross-origin): here happy-dom provides only
// what Node does not have (window, document, elements, events), and the console's calls go through
// Node's fetch to the gateway over real HTTP.
import { Window } from 'happy-dom';

function installDom(url: string): Window {
  const window = new Window({ url });
  const globals = globalThis as unknown as Record<string, unknown>;
  for (const key of Object.getOwnPropertyNames(window)) {
    if (key in globals) continue;
    globals[key] = (window as unknown as Record<string, unknown>)[key];
  }
  // The page's fetch is Node's: real HTTP to the gateway (happy-dom's would refuse it as cross-origin).
  Object.defineProperty(window, 'fetch', { value: globalThis.fetch, configurable: true, writable: true });
  // Events dispatched on the page's window must be the page's events (Node has its own Event classes).
  globals.Event = window.Event;
  globals.CustomEvent = window.CustomEvent;
  globals.window = window;
  globals.document = window.document;
  globals.navigator = window.navigator;
  globals.sessionStorage = window.sessionStorage;
  globals.localStorage = window.localStorage;
  globals.IS_REACT_ACT_ENVIRONMENT = true;
  return window;
}

/** Imported first by a test file (a side effect, before Testing Library looks for `document`). */
export const domWindow = installDom('http://console.test/console/');
