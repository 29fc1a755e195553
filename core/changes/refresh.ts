/**
 * The refresh request (GDR) a trust puts in the hub's `In/` folder to ask ESR for a full GO file: one header line,
 * `HDR~GO_<VPD>_GDW_GDR_<YYYYMMDD>_00000001.DAT~<YYYYMMDD HHMMSS>`, with no trailer and no line end, written with
 * the codec's `gdr` layout. esr_api's documentation advises setting the timestamp to the run end (HDR field 6) of
 * the latest change file taken and uploading before midnight of the day in the name, so that later change files
 * follow the full file without a gap or an overlap; esr_api always uses sequence 00000001.
 */
import { buildFileName, loadLayout, writeToBuffer } from '../codec';

export interface RefreshRequest {
  fileName: string;
  /** The file's bytes (latin1, no line end). */
  data: Buffer;
  /** The timestamp written in it (ISO YYYY-MM-DDTHH:MM:SS): where the full file is to start from. */
  from: string;
}

/**
 * A GDR file for `vpd`, dated `date` (YYYY-MM-DD, the day of the request), asking for a full file from `runEnd`
 * (the run end of the last change file taken, ISO date-time as the reader gives it). Throws the codec's errors for
 * a VPD or date the layout refuses.
 */
export async function refreshRequest(vpd: string, date: string, runEnd: string): Promise<RefreshRequest> {
  const layout = loadLayout('gdr');
  const fileName = buildFileName(layout, { vpd, date, sequence: 1 });
  const from = runEnd.length === 10 ? `${runEnd}T00:00:00` : runEnd;
  const data = await writeToBuffer(layout, [{ recordType: 'HDR', filename: fileName, timestamp: from }]);
  return { fileName, data, from };
}
