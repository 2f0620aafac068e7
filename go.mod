module github.com/comfygate/comfygate

go 1.26.0

require github.com/peterbourgon/ff/v4 v4.0.0-alpha.4

require github.com/pelletier/go-toml/v2 v2.2.4 // indirect
