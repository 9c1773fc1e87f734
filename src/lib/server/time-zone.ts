const formats = new Map<string, Intl.DateTimeFormat>();

/**
 * The zone's offset from UTC at the instant `at` (milliseconds since the epoch), in whole
 * seconds as its clock shows them. One formatter per zone: building one costs far more than
 * formatting, and a search for the end of a day asks for dozens of offsets.
 */
export function zoneOffsetMs(at: number, timeZone: string): number {
	let format = formats.get(timeZone);
	if (!format) {
		format = new Intl.DateTimeFormat('en-US', {
			timeZone,
			hourCycle: 'h23',
			year: 'numeric',
			month: '2-digit',
			day: '2-digit',
			hour: '2-digit',
			minute: '2-digit',
			second: '2-digit'
		});
		formats.set(timeZone, format);
	}
	const parts = format.formatToParts(new Date(at));
	const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
	const local = Date.UTC(
		get('year'),
		get('month') - 1,
		get('day'),
		get('hour'),
		get('minute'),
		get('second')
	);
	return local - Math.floor(at / 1000) * 1000;
}
