#!/usr/bin/env node
// The installed `dingtalk-gateway` command. The CLI itself is compiled into dist/ by the build;
// this file is committed so that installing the workspace can link the command before that.
import { runCli } from '../dist/cli/main.js';

runCli(process.argv.slice(2));
