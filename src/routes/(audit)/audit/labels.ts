import { m } from '$lib/paraglide/messages';

/** How an unreadable document is named to an auditor, in the reader's language. */
export const restrictedLabel = (id: number): string => m.audit_restricted_document({ id });
