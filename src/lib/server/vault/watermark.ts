import fontkit from '@pdf-lib/fontkit';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import {
	PDFArray,
	PDFDict,
	PDFDocument,
	PDFName,
	PDFRef,
	PDFStream,
	degrees,
	rgb,
	type PDFFont,
	type PDFObject,
	type PDFPage
} from 'pdf-lib';
import { assertPdfExpansion } from './pdf-streams';
import { withEvenGlyphs } from './truetype';

/**
 * Per-reader watermarks on PDFs. The font ships as an npm dependency (Noto Sans JP, OFL) so a
 * Japanese display name is drawn, not dropped, without network access or system fonts; only the
 * glyphs used are embedded (`subset`), which keeps each answer small (see truetype.ts for what the
 * font needs first).
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
	fontBytes ??= readFile(createRequire(import.meta.url).resolve(FONT_MODULE))
		.then((bytes) => withEvenGlyphs(bytes))
		.catch((caught) => {
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
	// As large as fits along the diagonal (at least 6 points on a tiny page): on a huge page
	// too, where a capped size would shrink to a smudge once the page is fitted to a screen.
	const size = Math.max((diagonal * 0.7) / widest, 6);
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
	// 8 points on an A4 page, in proportion on others.
	const footSize = Math.min(
		diagonal / 125,
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
 * The reader's copy: a new PDF whose every page is a page of the original drawn as a form
 * XObject (`embedPages`) with the watermark drawn over it. Annotating the original in place left
 * ways around the mark: content that ends its graphics state early (`Q … 0 0 0 0 re W n q`) and
 * leaves an empty clip behind for whatever is drawn after it, annotations (drawn over the page
 * content, so over the mark too), a crop box off the media box (the mark drawn where no viewer
 * shows it), attached files carried along unmarked, and the mark as one removable entry of each
 * page's content list. A form XObject runs in a graphics state of its own that is restored after
 * it, and the new file holds nothing but the pages: no annotations, attachments, outline, forms
 * or actions. A page tree holding pages pdf-lib does not list (a leaf without `/Type /Page`,
 * which viewers still show) is refused rather than served with pages missing.
 *
 * A file whose object streams or page streams would decode to more than may be held is not
 * opened (PdfExpansionError, see pdf-streams.ts).
 */
export async function watermarkPdf(
	bytes: Uint8Array,
	reader: WatermarkReader
): Promise<Uint8Array> {
	await assertPdfExpansion(bytes, 'structure');
	// An encrypted file is refused here, as one that cannot carry the mark.
	const source = await PDFDocument.load(bytes, { ignoreEncryption: false, updateMetadata: false });
	// Every page's content is decoded to be embedded: within the same budget as text extraction.
	await assertPdfExpansion(bytes, 'text');
	const pages = source.getPages();
	if (pages.length === 0 || pages.length !== leavesOf(source)) {
		throw new Error('The page tree holds pages that cannot be marked');
	}
	const copy = await PDFDocument.create({ updateMetadata: false });
	copy.registerFontkit(fontkit);
	const typeface = await copy.embedFont(await font(), { subset: true });
	const lines = watermarkLines(reader);
	const boxes = pages.map(visibleBox);
	const drawn = pages.map((page) => page.node.Contents() !== undefined);
	const embedded = await copy.embedPages(
		pages.filter((_, i) => drawn[i]),
		boxes.filter((_, i) => drawn[i])
	);
	let next = 0;
	pages.forEach((page, i) => {
		const box = boxes[i]!;
		const width = box.right - box.left;
		const height = box.top - box.bottom;
		const target = copy.addPage([width, height]);
		// A page without content is blank: it still gets its mark.
		if (drawn[i]) target.drawPage(embedded[next++]!, { x: 0, y: 0, width, height });
		target.setRotation(degrees(page.getRotation().angle));
		markPage(target, typeface, lines);
	});
	// The pages were copied over with everything they point to (their annotations, the
	// original content streams) before being embedded: only what the new pages use is written.
	await copy.flush();
	dropUnreachable(copy);
	return copy.save();
}

/** Deletes every object the file's catalog and information dictionary do not lead to. */
function dropUnreachable(doc: PDFDocument) {
	const context = doc.context;
	const reached = new Set<PDFRef>();
	const pending: (PDFObject | undefined)[] = [context.trailerInfo.Root, context.trailerInfo.Info];
	while (pending.length > 0) {
		const value = pending.pop();
		if (value instanceof PDFRef) {
			if (reached.has(value)) continue;
			reached.add(value);
			pending.push(context.lookup(value));
		} else if (value instanceof PDFDict) {
			for (const [, entry] of value.entries()) pending.push(entry);
		} else if (value instanceof PDFArray) {
			for (let i = 0; i < value.size(); i++) pending.push(value.get(i));
		} else if (value instanceof PDFStream) {
			pending.push(value.dict);
		}
	}
	for (const [ref] of context.enumerateIndirectObjects()) {
		if (!reached.has(ref)) context.delete(ref);
	}
}

/** What a viewer shows of a page: the crop box within the media box (the media box if apart). */
function visibleBox(page: PDFPage) {
	const media = page.getMediaBox();
	const crop = page.getCropBox();
	const left = Math.max(media.x, crop.x);
	const bottom = Math.max(media.y, crop.y);
	const right = Math.min(media.x + media.width, crop.x + crop.width);
	const top = Math.min(media.y + media.height, crop.y + crop.height);
	if (right - left >= 1 && top - bottom >= 1) return { left, bottom, right, top };
	return {
		left: media.x,
		bottom: media.y,
		right: media.x + Math.max(media.width, 1),
		top: media.y + Math.max(media.height, 1)
	};
}

/** The leaves of the page tree as a viewer counts them: every node without `/Kids`. */
function leavesOf(doc: PDFDocument): number {
	const seen = new Set<PDFDict>();
	let leaves = 0;
	const walk = (node: PDFDict, depth: number) => {
		if (seen.has(node) || depth > 64) throw new Error('The page tree loops or is too deep');
		seen.add(node);
		const kids = node.lookupMaybe(PDFName.of('Kids'), PDFArray);
		if (!kids) {
			leaves++;
			return;
		}
		for (let i = 0; i < kids.size(); i++) {
			const kid = kids.lookup(i);
			if (kid instanceof PDFDict) walk(kid, depth + 1);
			else leaves++;
		}
	};
	const root = doc.catalog.lookupMaybe(PDFName.of('Pages'), PDFDict);
	if (root) walk(root, 0);
	return leaves;
}
