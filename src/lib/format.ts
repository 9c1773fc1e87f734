/** Times are stored in UTC and shown in the reader's zone, always with the offset. */
export function formatDateTime(
	value: Date | string | number,
	locale: string,
	timeZone: string
): string {
	const date = value instanceof Date ? value : new Date(value);
	return new Intl.DateTimeFormat(locale === 'ja' ? 'ja-JP' : 'en-GB', {
		timeZone,
		year: 'numeric',
		month: '2-digit',
		day: '2-digit',
		hour: '2-digit',
		minute: '2-digit',
		timeZoneName: 'longOffset',
		hourCycle: 'h23'
	}).format(date);
}
