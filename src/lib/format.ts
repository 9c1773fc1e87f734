/**
 * Building an Intl.DateTimeFormat is far slower than using one, and a list page formats dozens
 * of dates: one formatter per language and zone, kept (a handful in practice; the map is
 * emptied if it ever grows past a bound, since zones come from user settings).
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
const MAX_FORMATTERS = 64;

function formatterFor(locale: string, timeZone: string, seconds: boolean): Intl.DateTimeFormat {
	const tag = locale === 'ja' ? 'ja-JP' : 'en-GB';
	const key = `${tag} ${timeZone} ${seconds ? 's' : 'm'}`;
	let formatter = formatters.get(key);
	if (!formatter) {
		formatter = new Intl.DateTimeFormat(tag, {
			timeZone,
			year: 'numeric',
			month: '2-digit',
			day: '2-digit',
			hour: '2-digit',
			minute: '2-digit',
			...(seconds ? { second: '2-digit' } : {}),
			timeZoneName: 'longOffset',
			hourCycle: 'h23'
		});
		if (formatters.size >= MAX_FORMATTERS) formatters.clear();
		formatters.set(key, formatter);
	}
	return formatter;
}

/**
 * Formatting a date is slow too (a few microseconds in ICU), and a list page formats the same
 * instants (each row's last change) on every request: the results are kept by language, zone
 * and exact instant, up to a bound past which the map is emptied.
 */
const formatted = new Map<string, string>();
const MAX_FORMATTED = 4096;

/** Times are stored in UTC and shown in the reader's zone, always with the offset. */
export function formatDateTime(
	value: Date | string | number,
	locale: string,
	timeZone: string
): string {
	const date = value instanceof Date ? value : new Date(value);
	const key = `${locale} ${timeZone} ${date.getTime()}`;
	let text = formatted.get(key);
	if (text === undefined) {
		text = formatterFor(locale, timeZone, false).format(date);
		if (formatted.size >= MAX_FORMATTED) formatted.clear();
		formatted.set(key, text);
	}
	return text;
}

/** As `formatDateTime`, to the second (audit events). */
export function formatDateTimeSeconds(
	value: Date | string | number,
	locale: string,
	timeZone: string
): string {
	const date = value instanceof Date ? value : new Date(value);
	return formatterFor(locale, timeZone, true).format(date);
}
