#!/usr/bin/env node
// The installed `dingtalk-sandbox` command. The sandbox itself is compiled into dist/ by the
// build; this file is committed so that installing the workspace can link the command before that.
import '../dist/main.js';
