import { m } from '$lib/paraglide/messages';
import { getLocale } from '$lib/paraglide/runtime';

/** Shared by the upload page and the new-version component: XHR for upload progress and abort. */

export const ALLOWED_EXTENSIONS = [
	'pdf',
	'docx',
	'xlsx',
	'pptx',
	'png',
	'jpg',
	'jpeg',
	'txt',
	'md',
	'markdown',
	'csv'
] as const;

export const ACCEPT = ALLOWED_EXTENSIONS.map((e) => `.${e}`).join(',');
export const TYPES_LABEL = 'PDF, DOCX, XLSX, PPTX, PNG, JPEG, TXT, MD, CSV';

export function formatBytes(bytes: number): string {
	const units = ['B', 'KB', 'MB', 'GB', 'TB'];
	let value = bytes;
	let unit = 0;
	while (value >= 1024 && unit < units.length - 1) {
		value /= 1024;
		unit += 1;
	}
	const digits = unit === 0 || value >= 100 ? 0 : 1;
	return `${new Intl.NumberFormat(getLocale(), { maximumFractionDigits: digits }).format(value)} ${units[unit]}`;
}

/** A problem found before sending anything, so that the person does not wait for a refusal. */
export function precheck(file: File | null | undefined, maxBytes: number): string | null {
	if (!file) return m.files_error_no_file();
	const dot = file.name.lastIndexOf('.');
	const extension = dot > 0 ? file.name.slice(dot + 1).toLowerCase() : '';
	if (!(ALLOWED_EXTENSIONS as readonly string[]).includes(extension)) {
		return m.files_error_type_refused({ types: TYPES_LABEL });
	}
	if (file.size === 0) return m.files_error_empty();
	if (file.size > maxBytes) return m.files_error_too_large({ size: formatBytes(maxBytes) });
	return null;
}

export function messageFor(
	status: number,
	body: { code?: string; detail?: string | null } | null,
	maxBytes: number
): string {
	switch (body?.code) {
		case 'too_large':
			return m.files_error_too_large({ size: formatBytes(maxBytes) });
		case 'type_refused':
			if (body.detail === 'extension') return m.files_error_type_refused({ types: TYPES_LABEL });
			if (body.detail === 'encoding' || body.detail === 'nul') return m.files_error_encoding();
			return m.files_error_type_mismatch();
		case 'empty':
			return m.files_error_empty();
		case 'invalid':
		case 'unsupported_media_type':
			return m.files_error_invalid();
		case 'no_file':
			return m.files_error_no_file();
		case 'write_refused':
			return m.files_error_write_refused();
		case 'not_author':
			return m.files_error_not_author();
		case 'interrupted':
		case 'idle_timeout':
			return m.files_error_interrupted();
		case 'storage_unavailable':
			return m.files_error_storage();
		case 'origin':
			return m.files_error_origin();
	}
	if (status === 413) return m.files_error_too_large({ size: formatBytes(maxBytes) });
	if (status === 404) return m.files_error_not_found();
	if (status === 0) return m.files_error_network();
	return m.files_error_generic({ status: String(status) });
}

export interface UploadHandle {
	abort(): void;
	done: Promise<
		| { ok: true; body: Record<string, unknown> }
		| {
				ok: false;
				cancelled: boolean;
				status: number;
				body: { code?: string; detail?: string | null } | null;
		  }
	>;
}

/** Sends the form with the file LAST: the server reads the fields before the file's bytes. */
export function send(
	url: string,
	fields: [string, string][],
	file: File,
	onProgress: (sent: number, total: number) => void
): UploadHandle {
	const data = new FormData();
	for (const [name, value] of fields) data.append(name, value);
	data.append('file', file, file.name);
	const xhr = new XMLHttpRequest();
	let cancelled = false;
	const done: UploadHandle['done'] = new Promise((resolve) => {
		xhr.upload.addEventListener('progress', (event) => {
			if (event.lengthComputable) onProgress(event.loaded, event.total);
		});
		const finish = () => {
			let body: Record<string, unknown> | null = null;
			try {
				body = JSON.parse(xhr.responseText) as Record<string, unknown>;
			} catch {
				body = null;
			}
			if (xhr.status === 201 && body) resolve({ ok: true, body });
			else resolve({ ok: false, cancelled, status: xhr.status, body });
		};
		xhr.addEventListener('load', finish);
		xhr.addEventListener('error', finish);
		xhr.addEventListener('abort', finish);
	});
	xhr.open('POST', url);
	xhr.setRequestHeader('Accept', 'application/json');
	xhr.send(data);
	return {
		abort() {
			cancelled = true;
			xhr.abort();
		},
		done
	};
}
