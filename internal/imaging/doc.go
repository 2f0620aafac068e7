// Package imaging decodes and re-encodes images for the work requests
// drive — /view previews and channels, /upload/mask — in bounded memory,
// for the gateway's ComfyUI-compatible surface and the simulator alike.
//
// An image flows as a Source: rows of 8-bit, non-premultiplied RGBA, read
// top to bottom, as many passes as an encoder needs. A PNG that is not
// interlaced streams from its file (OpenPNG), so its memory grows with its
// width and not its area: a 196 KB file that declares 8192×8192 pixels
// costs a few rows, not 256 MB. Other images are decoded whole (Decode)
// once the cost their header announces is reserved from a Budget. The
// encoders (lossless WebP, PNG, JPEG) write to an io.Writer as they go.
package imaging
