import fontkit from '@pdf-lib/fontkit';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import {
	PDFArray,
	PDFDict,
	PDFDocument,
	PDFName,
	PDFNumber,
	PDFObjectCopier,
	PDFRawStream,
	PDFRef,
	PDFStream,
	concatTransformationMatrix,
	degrees,
	drawObject,
	popGraphicsState,
	pushGraphicsState,
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
 * or actions. What a viewer draws of the annotations (comments, stamps, filled-in form fields)
 * is drawn into the page under the mark (`drawAnnotations`), as a printout would show it. A page tree holding pages pdf-lib does not list (a leaf without `/Type /Page`,
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
	const copier = PDFObjectCopier.for(source.context, copy.context);
	const shared = { copied: new Map<PDFRawStream, PDFRef>(), drawn: 0 };
	let next = 0;
	pages.forEach((page, i) => {
		const box = boxes[i]!;
		const width = box.right - box.left;
		const height = box.top - box.bottom;
		const target = copy.addPage([width, height]);
		// A page without content is blank: it still gets its mark.
		if (drawn[i]) target.drawPage(embedded[next++]!, { x: 0, y: 0, width, height });
		drawAnnotations(page, target, copier, shared, box);
		target.setRotation(degrees(page.getRotation().angle));
		markPage(target, typeface, lines);
	});
	// The pages were copied over with everything they point to (their annotations, the
	// original content streams) before being embedded: only what the new pages use is written.
	await copy.flush();
	dropUnreachable(copy);
	return copy.save();
}

/** Annotations drawn into one reader's copy at most; a file with more is refused, not cut short. */
export const MAX_ANNOTATIONS = 20_000;
const HIDDEN = 1 << 1;
const NO_VIEW = 1 << 5;

function numbersOf(value: PDFObject | undefined, count: number): number[] | null {
	if (!(value instanceof PDFArray) || value.size() !== count) return null;
	const numbers = value
		.asArray()
		.map((item) => (item instanceof PDFNumber ? item.asNumber() : NaN));
	return numbers.every(Number.isFinite) ? numbers : null;
}

/** The stream a viewer draws for an annotation (its normal appearance, in its current state). */
function normalAppearance(annotation: PDFDict): PDFRawStream | undefined {
	if (annotation.lookupMaybe(PDFName.of('Subtype'), PDFName) === PDFName.of('Popup')) return;
	const flags = annotation.lookupMaybe(PDFName.of('F'), PDFNumber)?.asNumber() ?? 0;
	if (flags & (HIDDEN | NO_VIEW)) return;
	const normal = annotation.lookupMaybe(PDFName.of('AP'), PDFDict)?.lookup(PDFName.of('N'));
	if (normal instanceof PDFRawStream) return normal;
	if (!(normal instanceof PDFDict)) return;
	const state = annotation.lookupMaybe(PDFName.of('AS'), PDFName);
	const chosen = state ? normal.lookup(state) : undefined;
	return chosen instanceof PDFRawStream ? chosen : undefined;
}

/**
 * Draws the appearance of each visible annotation of `page` into `target`, where the page's
 * visible `box` starts at the origin: mapped onto the annotation's rectangle as PDF 32000-1
 * §12.5.5 says a viewer does (the appearance's bounding box, transformed by its matrix, fitted
 * to the rectangle). Only what a form XObject needs is copied (its bounding box, matrix,
 * resources and transparency group), nothing else the annotation points to: its action, popup,
 * attached file or parent field stay behind. Drawn before the mark, so none can cover it.
 */
function drawAnnotations(
	page: PDFPage,
	target: PDFPage,
	copier: PDFObjectCopier,
	shared: { copied: Map<PDFRawStream, PDFRef>; drawn: number },
	box: { left: number; bottom: number }
) {
	const annotations = page.node.Annots();
	if (!annotations) return;
	const context = target.doc.context;
	const { XObject: xObjects } = target.node.normalizedEntries();
	for (let i = 0; i < annotations.size(); i++) {
		const annotation = annotations.lookup(i);
		if (!(annotation instanceof PDFDict)) continue;
		const appearance = normalAppearance(annotation);
		const rect = numbersOf(annotation.lookup(PDFName.of('Rect')), 4);
		const bbox = numbersOf(appearance?.dict.lookup(PDFName.of('BBox')), 4);
		if (!appearance || !rect || !bbox) continue;
		const matrix = appearance.dict.has(PDFName.of('Matrix'))
			? numbersOf(appearance.dict.lookup(PDFName.of('Matrix')), 6)
			: [1, 0, 0, 1, 0, 0];
		if (!matrix) continue;
		const [a, b, c, d, e, f] = matrix as [number, number, number, number, number, number];
		const corners = [
			[bbox[0]!, bbox[1]!],
			[bbox[2]!, bbox[1]!],
			[bbox[0]!, bbox[3]!],
			[bbox[2]!, bbox[3]!]
		].map(([x, y]) => [a * x! + c * y! + e, b * x! + d * y! + f] as const);
		const xs = corners.map(([x]) => x);
		const ys = corners.map(([, y]) => y);
		const [fromX, toX, fromY, toY] = [
			Math.min(...xs),
			Math.max(...xs),
			Math.min(...ys),
			Math.max(...ys)
		];
		const [rectLeft, rectRight] = [Math.min(rect[0]!, rect[2]!), Math.max(rect[0]!, rect[2]!)];
		const [rectBottom, rectTop] = [Math.min(rect[1]!, rect[3]!), Math.max(rect[1]!, rect[3]!)];
		if (toX - fromX < 1e-6 || toY - fromY < 1e-6 || rectRight - rectLeft < 1e-6) continue;
		if (rectTop - rectBottom < 1e-6) continue;
		const scaleX = (rectRight - rectLeft) / (toX - fromX);
		const scaleY = (rectTop - rectBottom) / (toY - fromY);
		const moveX = rectLeft - fromX * scaleX - box.left;
		const moveY = rectBottom - fromY * scaleY - box.bottom;
		// Numbers a content stream may hold (a viewer that stops at a NaN or a 300-digit number
		// would stop before the mark): anything else is not drawn.
		if (![scaleX, scaleY, moveX, moveY].every((v) => Number.isFinite(v) && Math.abs(v) < 1e7)) {
			continue;
		}
		if (++shared.drawn > MAX_ANNOTATIONS) {
			throw new Error('The file has more annotations than can be drawn into its copy');
		}
		// One copy of a stream however many annotations show it (a form's fields often share
		// theirs): the copy grows with the file, never with the count of references to a stream.
		let form = shared.copied.get(appearance);
		if (!form) {
			const dict = context.obj({ Type: 'XObject', Subtype: 'Form' });
			for (const key of ['BBox', 'Matrix', 'Resources', 'Group', 'Filter', 'DecodeParms']) {
				const value = appearance.dict.get(PDFName.of(key));
				if (value !== undefined) dict.set(PDFName.of(key), copier.copy(value));
			}
			form = context.register(PDFRawStream.of(dict, appearance.contents));
			shared.copied.set(appearance, form);
		}
		// Named by count: pdf-lib's newXObject looks for a free name among all the page's names
		// each time, which made a page of many annotations quadratic (a minute of CPU for 128,000).
		const name = PDFName.of(`Annot${shared.drawn}`);
		xObjects.set(name, form);
		target.pushOperators(
			pushGraphicsState(),
			concatTransformationMatrix(scaleX, 0, 0, scaleY, moveX, moveY),
			drawObject(name),
			popGraphicsState()
		);
	}
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
