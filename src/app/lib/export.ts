
export { CONVENTION, CSV_HEADER, transformsCsv, transformsJson, type TransformEntry } from '../../engine/export/transforms-file';

export const EXPORT_README = `Aligned chest X-rays exported by cxr-align.

aligned/          the films warped into the model's frame (or kept at their own size)
transforms.json   {"frame", "convention", "model", "transforms": {file: [[a,b,c],[d,e,f]]},
                   "params": {file: [tx,ty,sx,sy,theta]}, "sizes" (original size only), "failed"}
transforms.csv    path,a,b,c,d,e,f,tx,ty,sx,sy,theta,width,height

The same files as the command line's "cxr-align align" writes.

Each matrix maps a point of the OUTPUT frame to the point of the INPUT film it
samples, in PyTorch affine_grid normalized coordinates (align_corners=False):
x = (2j + 1)/W - 1 for pixel column j of a W-wide image, likewise y for rows.
Because both sides are normalized, one matrix serves every resolution:
torch.nn.functional.affine_grid(theta, size, align_corners=False) reproduces the warp.
`;
