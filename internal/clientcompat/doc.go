// Package clientcompat proves that real, unmodified third-party ComfyUI
// clients work against comfygate. Its test installs nothing and imports
// nothing of the clients: it runs small Node scripts (js/) that drive npm
// libraries exactly as their READMEs show — @saintno/comfyui-sdk (and its
// cfli command) and @stable-canvas/comfyui-client — against the simulator
// and against the whole comfygate stack with two simulated backends, and
// checks what the clients got: prompt ids, progress, history, and images
// of the requested sizes fetched through /view.
//
// The package holds no code: a drop-in surface is only as good as the
// clients that actually use it, and this is where that is checked. The
// libraries are pinned in js/package-lock.json; CI installs them with
// "npm ci" (see .ci/run) and the test fails there when they are missing.
package clientcompat
