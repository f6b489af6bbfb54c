-- Drive Prompt Canvas from a real Neovim (0.7+), headless.
-- Environment: PC_SERVER_CMD (JSON list), PC_FILE (a .prompt file), PC_SCENARIO (expand|vary).
-- Exits 0 on success; on any Lua error prints it and exits 1 (a headless Lua error would hang).

local function fail(msg)
  io.stderr:write("nvim_e2e: " .. tostring(msg) .. "\n")
  vim.cmd("cquit! 1")
end

local function run()
  local cmd = vim.fn.json_decode(os.getenv("PC_SERVER_CMD"))
  local file = os.getenv("PC_FILE")
  local scenario = os.getenv("PC_SCENARIO")

  -- Neovim 0.7 knows no *.prompt filetype.
  vim.cmd("autocmd BufRead,BufNewFile *.prompt setfiletype promptcanvas")
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  local bufnr = vim.api.nvim_get_current_buf()

  local client_id = vim.lsp.start_client({
    name = "prompt-canvas",
    cmd = cmd,
    root_dir = vim.fn.fnamemodify(file, ":h"),
  })
  if not client_id then return fail("start_client failed") end
  vim.lsp.buf_attach_client(bufnr, client_id)
  local client = vim.lsp.get_client_by_id(client_id)
  if not vim.wait(15000, function() return client.initialized end, 50) then
    return fail("server did not initialize")
  end

  local wanted
  if scenario == "expand" then
    -- A real visual selection of the phrase "beach sunset" on its own line.
    vim.fn.cursor(1, 1)
    if vim.fn.search("^beach sunset$") == 0 then return fail("phrase not found") end
    vim.cmd([[execute "normal! 0v$h\<Esc>"]])
    wanted = "^Expand selection"
  else
    vim.fn.cursor(1, 1)
    if vim.fn.search("^a fox in the snow$") == 0 then return fail("entry not found") end
    vim.cmd([[execute "normal! 0w"]])
    vim.cmd([[execute "normal! v\<Esc>"]])
    wanted = "^Generate %d+ variations"
  end

  local params = vim.lsp.util.make_given_range_params(nil, nil, bufnr, client.offset_encoding)
  params.context = { diagnostics = {} }
  local responses = vim.lsp.buf_request_sync(bufnr, "textDocument/codeAction", params, 10000)
  local action
  for _, response in pairs(responses or {}) do
    for _, candidate in ipairs(response.result or {}) do
      if candidate.title:find(wanted) then action = candidate end
    end
  end
  if not action then return fail("no code action matching " .. wanted .. ": " .. vim.inspect(responses)) end
  if not action.command then return fail("action has no command: " .. vim.inspect(action)) end

  local done, result, err = false, nil, nil
  client.request("workspace/executeCommand", {
    command = action.command.command,
    arguments = action.command.arguments,
  }, function(e, r)
    err, result, done = e, r, true
  end, bufnr)
  if not vim.wait(30000, function() return done end, 50) then return fail("command timed out") end
  if err then return fail("command failed: " .. vim.inspect(err)) end
  if not (result and result.applied) then return fail("edit not applied: " .. vim.inspect(result)) end
  vim.cmd("write")
  io.stdout:write(vim.fn.json_encode(result) .. "\n")
end

local ok, err = pcall(run)
if not ok then fail(err) end
vim.cmd("qall!")
