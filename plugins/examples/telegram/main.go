package main

import (
	"github.com/switchboard-hub/switchboard/plugins/sdk"
)

func main() { sdk.Serve(&channel{}) }
