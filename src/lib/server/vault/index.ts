/** The document vault: routes import these namespaces and call their verbs. */
export * as documents from './documents';
export * as markings from './markings';
export * as searchText from './search-text';
export * as writeRule from './write-rule';
export * as write from './write';
export { requireOwnDocument, requireReadable, requireVaultUser } from './guard';
export { renderMarkdown } from './markdown';
export * as pages from './pages';
export { documentsPanel, vaultContext } from './guard';
