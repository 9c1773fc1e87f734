/** Class lists shared by the administration pages' forms. */
export const fieldClass = 'mt-1 w-full rounded border border-slate-400 px-3 py-1.5';
export const buttonClass =
	'rounded bg-brand-800 px-4 py-2 text-sm font-semibold text-white hover:bg-brand-700';
export const cardClass = 'rounded-lg border border-slate-200 bg-white p-5';
