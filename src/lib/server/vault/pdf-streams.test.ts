import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { deflated, pdf, pdfOf, pdfWithContent } from '../../../../tests/helpers/files';
import { PdfExpansionError, assertPdfExpansion, type StreamUse } from './pdf-streams';

const MiB = 1024 * 1024;

async function refusal(bytes: Buffer, use: StreamUse, budget: number) {
	try {
		return { decoded: await assertPdfExpansion(bytes, use, budget) };
	} catch (error) {
		if (error instanceof PdfExpansionError) return { refused: error.reason };
		throw error;
	}
}

const page = [
	{ dictionary: '/Type/Catalog/Pages 2 0 R' },
	{ dictionary: '/Type/Pages/Kids[3 0 R]/Count 1' },
	{ dictionary: '/Type/Page/Parent 2 0 R/MediaBox[0 0 300 300]' }
];

describe('what a PDF would decode to', () => {
	it('counts a plain PDF’s content as it is', async () => {
		// Its /Length is short of the content: read up to endstream, the line break included.
		expect(await refusal(pdf('Hello'), 'text', MiB)).toEqual({
			decoded: 'BT /F1 12 Tf 10 100 Td (Hello) Tj ET\n'.length
		});
	});

	it('counts what a Flate stream inflates to, refusing past the budget for text', async () => {
		const bytes = pdfWithContent(await deflated('BT (word) Tj ET\n', 2 * MiB));
		expect(bytes.length).toBeLessThan(10_000);
		expect(await refusal(bytes, 'text', MiB)).toEqual({ refused: 'too_large' });
		expect(await refusal(bytes, 'text', 4 * MiB)).toEqual({ decoded: 2 * MiB + 16 });
		// pdf-lib never decodes page content: not counted for it.
		expect(await refusal(bytes, 'structure', MiB)).toEqual({ decoded: 0 });
	});

	it('counts object and cross-reference streams for pdf-lib', async () => {
		for (const type of ['ObjStm/N 1/First 4', 'XRef/W[1 2 1]']) {
			const bytes = pdfOf([
				...page,
				{ dictionary: `/Type/${type}/Filter/FlateDecode`, stream: await deflated('4 0 ', 2 * MiB) }
			]);
			expect(await refusal(bytes, 'structure', MiB), type).toEqual({ refused: 'too_large' });
		}
	});

	it('leaves out images for text, which text extraction never decodes', async () => {
		const bytes = pdfOf([
			...page,
			{
				dictionary:
					'/Type/XObject/Subtype/Image/Width 1024/Height 2048/BitsPerComponent 8/ColorSpace/DeviceGray/Filter/FlateDecode',
				stream: await deflated('', 2 * MiB, 0)
			}
		]);
		expect(await refusal(bytes, 'text', MiB)).toEqual({ decoded: 0 });
	});

	it('refuses filters it cannot count, and counts those that only shrink', async () => {
		const streamWith = (filter: string, data: Buffer) =>
			pdfOf([...page, { dictionary: `/Filter${filter}`, stream: data }]);
		const data = deflateSync(Buffer.from('BT (x) Tj ET'));
		expect(await refusal(streamWith('/LZWDecode', data), 'text', MiB)).toEqual({
			refused: 'filter'
		});
		expect(await refusal(streamWith('/RunLengthDecode', data), 'text', MiB)).toEqual({
			refused: 'filter'
		});
		expect(await refusal(streamWith('[/FlateDecode/FlateDecode]', data), 'text', MiB)).toEqual({
			refused: 'filter'
		});
		expect(await refusal(streamWith('/ASCIIHexDecode', Buffer.from('4142>')), 'text', MiB)).toEqual(
			{
				decoded: 5
			}
		);
	});

	it('reads a stream to its /Length, direct or indirect, past an endstream inside its data', async () => {
		// Stored (level 0) deflate blocks carry their input as it is: the word endstream within
		// the compressed bytes would end a scan for the keyword early.
		const hidden = deflateSync(
			Buffer.concat([Buffer.from('endstream\n'), Buffer.alloc(2 * MiB, 0x20)]),
			{
				level: 0
			}
		);
		const direct = pdfOf([...page, { dictionary: '/Filter/FlateDecode', stream: hidden }]);
		expect(await refusal(direct, 'text', MiB)).toEqual({ refused: 'too_large' });
		const indirect = Buffer.from(
			direct
				.toString('latin1')
				.replace(`/Length ${hidden.length}>>`, '/Length 9 0 R>>')
				.replace('xref\n', `9 0 obj\n${hidden.length}\nendobj\nxref\n`),
			'latin1'
		);
		expect(await refusal(indirect, 'text', MiB)).toEqual({ refused: 'too_large' });
	});

	it('reads the dictionary as a PDF reader does: strings and comments do not fool it', async () => {
		const bomb = await deflated('4 0 ', 2 * MiB);
		for (const [use, dictionary] of [
			// An object-like text in a string would cut a dictionary found by searching backwards.
			['structure', '/Type/ObjStm/N 1/First 4/Filter/FlateDecode/Note (obj)'],
			['structure', '/Note (1 0 obj <</X 1>>)/Type/ObjStm/N 1/First 4/Filter/FlateDecode'],
			['structure', '/Type/ObjStm/N 1/First 4/Filter/FlateDecode % 1 0 obj <</Type/XObject>>\n'],
			// An image subtype named only inside a string or a nested dictionary is no image.
			['text', '/Filter/FlateDecode/Note (/Subtype/Image)'],
			['text', '/Filter/FlateDecode/DecodeParms<</Subtype/Image>>'],
			// A filter named only inside a string is no filter: the stream is still inflated.
			['text', '/Note (/Filter/ASCIIHexDecode)/Filter/FlateDecode']
		] as const) {
			const bytes = pdfOf([...page, { dictionary, stream: bomb }]);
			expect(await refusal(bytes, use, MiB), dictionary).toEqual({ refused: 'too_large' });
		}
	});

	it('counts what a damaged stream gives before it fails, as pdf.js keeps it', async () => {
		const whole = await deflated('BT (x) Tj ET\n', 2 * MiB);
		const cut = pdfWithContent(whole.subarray(0, Math.floor(whole.length / 2)));
		const result = await refusal(cut, 'text', 4 * MiB);
		expect(result.decoded).toBeGreaterThan(0);
		expect(result.decoded).toBeLessThan(2 * MiB);
	});

	it('does not open an encrypted PDF for text, whose streams it cannot count', async () => {
		const bytes = pdfOf(page, '/Encrypt<</Filter/Standard/V 1/R 2/P -4>>');
		expect(await refusal(bytes, 'text', MiB)).toEqual({ refused: 'encrypted' });
		expect(await refusal(bytes, 'structure', MiB)).toEqual({ decoded: 0 });
	});
});
