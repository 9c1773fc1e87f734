/** Audit times to the second, in the reader's zone with its offset. */
export function auditTime(value: string, locale: string, timeZone: string): string {
	return new Intl.DateTimeFormat(locale === 'ja' ? 'ja-JP' : 'en-GB', {
		timeZone,
		year: 'numeric',
		month: '2-digit',
		day: '2-digit',
		hour: '2-digit',
		minute: '2-digit',
		second: '2-digit',
		timeZoneName: 'longOffset',
		hourCycle: 'h23'
	}).format(new Date(value));
}
