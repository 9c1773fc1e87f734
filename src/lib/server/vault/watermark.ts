import fontkit from '@pdf-lib/fontkit';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { PDFDocument, degrees, rgb, type PDFFont, type PDFPage } from 'pdf-lib';
import { assertPdfExpansion } from './pdf-streams';

/**
 * Per-reader watermarks on PDFs. The font ships as an npm dependency (Noto Sans JP, OFL) so a
 * Japanese display name is drawn, not dropped, without network access or system fonts; only the
 * glyphs used are embedded (`subset`), which keeps each answer small.
 */

export interface WatermarkReader {
	name: string;
	accountId: number;
	at: Date;
	timeZone: string;
}

const FONT_MODULE = '@expo-google-fonts/noto-sans-jp/400Regular/NotoSansJP_400Regular.ttf';
let fontBytes: Promise<Uint8Array> | null = null;

function font(): Promise<Uint8Array> {
	// Read once per process: 5 MB that every watermarked answer needs.
	fontBytes ??= readFile(createRequire(import.meta.url).resolve(FONT_MODULE)).catch((caught) => {
		fontBytes = null;
		throw caught;
	});
	return fontBytes;
}

function localTime(at: Date, timeZone: string): string {
	const parts = new Intl.DateTimeFormat('en-CA', {
		timeZone,
		year: 'numeric',
		month: '2-digit',
		day: '2-digit',
		hour: '2-digit',
		minute: '2-digit',
		hourCycle: 'h23'
	}).formatToParts(at);
	const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
	return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}`;
}

/** The watermark's lines; also what a test looks for in the marked file. */
export function watermarkLines(reader: WatermarkReader): string[] {
	const utc = reader.at.toISOString().replace(/\.\d{3}Z$/, 'Z');
	return [
		reader.name,
		`Account ${reader.accountId}`,
		`${utc} (${localTime(reader.at, reader.timeZone)} ${reader.timeZone})`
	];
}

function markPage(page: PDFPage, typeface: PDFFont, lines: string[]) {
	const box = page.getCropBox();
	const diagonal = Math.hypot(box.width, box.height);
	const widest = Math.max(...lines.map((line) => typeface.widthOfTextAtSize(line, 1)), 1);
	// As large as fits along the diagonal, within reason for tiny or huge pages.
	const size = Math.min(Math.max((diagonal * 0.7) / widest, 6), 48);
	const lineHeight = size * 1.3;
	const angle = Math.atan2(box.height, box.width);
	const cos = Math.cos(angle);
	const sin = Math.sin(angle);
	const centreX = box.x + box.width / 2;
	const centreY = box.y + box.height / 2;
	lines.forEach((line, index) => {
		const width = typeface.widthOfTextAtSize(line, size);
		// Offset of this line from the block's centre, perpendicular to the text direction.
		const offset = ((lines.length - 1) / 2 - index) * lineHeight - size / 3;
		const x = centreX - (width / 2) * cos - offset * sin;
		const y = centreY - (width / 2) * sin + offset * cos;
		page.drawText(line, {
			x,
			y,
			size,
			font: typeface,
			color: rgb(0.6, 0.1, 0.1),
			opacity: 0.3,
			rotate: degrees((angle * 180) / Math.PI)
		});
	});
	// A small plain line along the foot too, readable when the diagonal falls under an image.
	const foot = lines.join(' · ');
	const footSize = Math.min(
		8,
		(box.width * 0.9) / Math.max(typeface.widthOfTextAtSize(foot, 1), 1)
	);
	page.drawText(foot, {
		x: box.x + box.width * 0.05,
		y: box.y + Math.max(footSize, 6),
		size: footSize,
		font: typeface,
		color: rgb(0.6, 0.1, 0.1),
		opacity: 0.6
	});
}

/**
 * A new PDF with the reader's watermark on every page; the stored bytes are left as they are.
 * A file whose object streams would decode to more than pdf-lib may hold is not opened
 * (PdfExpansionError, see pdf-streams.ts).
 */
export async function watermarkPdf(
	bytes: Uint8Array,
	reader: WatermarkReader
): Promise<Uint8Array> {
	await assertPdfExpansion(bytes, 'structure');
	const doc = await PDFDocument.load(bytes, { ignoreEncryption: false, updateMetadata: false });
	doc.registerFontkit(fontkit);
	const typeface = await doc.embedFont(await font(), { subset: true });
	const lines = watermarkLines(reader);
	for (const page of doc.getPages()) markPage(page, typeface, lines);
	return doc.save();
}
