// ISO 9660 + Rock Ridge + Joliet + El Torito: writer and reader.
export { writeIso, DEFAULT_ISO_DATE, type IsoFile, type IsoBootOptions, type WriteIsoOptions } from './writer.ts';
export { readIso, type IsoImage, type IsoBootInfo } from './reader.ts';
