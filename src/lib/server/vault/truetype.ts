/**
 * A TrueType font rewritten so that every glyph record has an even length, with a long-format
 * `loca` table; everything else is copied as it is.
 *
 * Why: fontkit's subsetter (used by pdf-lib to embed only the glyphs a watermark uses) copies
 * each glyph's bytes as they are and then writes the subset's `loca` in the short format, which
 * stores offsets halved. Noto Sans JP has glyphs of odd length (its own `loca` is long), so
 * every glyph after one of them started a byte early in the subset and its outline was garbage:
 * viewers drew about half of a reader's name and account number. With even lengths throughout,
 * the halved offsets are exact.
 */

interface TableRecord {
	tag: string;
	offset: number;
	length: number;
}

function tablesOf(view: DataView): TableRecord[] {
	const count = view.getUint16(4);
	const tables: TableRecord[] = [];
	for (let i = 0; i < count; i++) {
		const at = 12 + i * 16;
		const tag = String.fromCharCode(
			view.getUint8(at),
			view.getUint8(at + 1),
			view.getUint8(at + 2),
			view.getUint8(at + 3)
		);
		const offset = view.getUint32(at + 8);
		const length = view.getUint32(at + 12);
		if (offset + length > view.byteLength) throw new Error(`Font table ${tag} runs past the file`);
		tables.push({ tag, offset, length });
	}
	return tables;
}

function checksum(bytes: Uint8Array): number {
	const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
	padded.set(bytes);
	const view = new DataView(padded.buffer);
	let sum = 0;
	for (let i = 0; i < padded.length; i += 4) sum = (sum + view.getUint32(i)) >>> 0;
	return sum;
}

export function withEvenGlyphs(font: Uint8Array): Uint8Array {
	const view = new DataView(font.buffer, font.byteOffset, font.byteLength);
	const tables = tablesOf(view);
	const find = (tag: string) => {
		const table = tables.find((t) => t.tag === tag);
		if (!table) throw new Error(`The font has no ${tag} table`);
		return table;
	};
	const head = find('head');
	const maxp = find('maxp');
	const loca = find('loca');
	const glyf = find('glyf');
	const longOffsets = view.getInt16(head.offset + 50) === 1;
	const glyphs = view.getUint16(maxp.offset + 4);
	const offsetAt = (i: number) =>
		longOffsets ? view.getUint32(loca.offset + i * 4) : view.getUint16(loca.offset + i * 2) * 2;

	const parts: Uint8Array[] = [];
	const newLoca = new DataView(new ArrayBuffer((glyphs + 1) * 4));
	let size = 0;
	for (let i = 0; i < glyphs; i++) {
		const start = offsetAt(i);
		const end = offsetAt(i + 1);
		if (end < start || end > glyf.length) throw new Error(`Glyph ${i} lies outside glyf`);
		newLoca.setUint32(i * 4, size);
		const record = font.subarray(glyf.offset + start, glyf.offset + end);
		parts.push(record);
		size += record.length;
		if (record.length % 2 === 1) {
			parts.push(new Uint8Array(1));
			size += 1;
		}
	}
	newLoca.setUint32(glyphs * 4, size);
	const newGlyf = new Uint8Array(size);
	let at = 0;
	for (const part of parts) {
		newGlyf.set(part, at);
		at += part.length;
	}
	const newHead = font.slice(head.offset, head.offset + head.length);
	const headView = new DataView(newHead.buffer);
	headView.setInt16(50, 1); // indexToLocFormat: long
	headView.setUint32(8, 0); // checkSumAdjustment, set below

	const contents = new Map<string, Uint8Array>(
		tables.map((t) => [t.tag, font.subarray(t.offset, t.offset + t.length)])
	);
	contents.set('head', newHead);
	contents.set('loca', new Uint8Array(newLoca.buffer));
	contents.set('glyf', newGlyf);

	// The same directory (tables in their order), each table 4-byte aligned.
	const directory = 12 + tables.length * 16;
	let total = directory;
	for (const table of tables) total += Math.ceil(contents.get(table.tag)!.length / 4) * 4;
	const out = new Uint8Array(total);
	const outView = new DataView(out.buffer);
	out.set(font.subarray(0, 12));
	let position = directory;
	tables.forEach((table, i) => {
		const bytes = contents.get(table.tag)!;
		const record = 12 + i * 16;
		out.set(font.subarray(12 + i * 16, 12 + i * 16 + 4), record);
		outView.setUint32(record + 4, checksum(bytes));
		outView.setUint32(record + 8, position);
		outView.setUint32(record + 12, bytes.length);
		out.set(bytes, position);
		position += Math.ceil(bytes.length / 4) * 4;
	});
	const headAt = outView.getUint32(12 + tables.indexOf(head) * 16 + 8);
	outView.setUint32(headAt + 8, (0xb1b0afba - checksum(out)) >>> 0);
	return out;
}
