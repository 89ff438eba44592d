-- Whole patient journeys, one after another on each connection: run with one thread a
-- connection (-t16 -c16), since each thread is one patient's browser.
-- args[1]: the plan written by load.py, one request a line, tab-separated:
--   METHOD  PATH  EXPECTED-STATUS  EXPECTED-LOCATION-PREFIX  FORM-BODY
-- A PATH of "<location>" follows the previous redirect. POSTs send the form token of the
-- page before, and the version of the answers it showed if it showed one (the check page).
-- The session cookie is kept from Set-Cookie. An unexpected answer counts,
-- and the patient starts again with a fresh browser.

dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "checks.lua")
reported = {"unexpected", "journeys"}
journeys = 0

local plan = {}
local position, cookie, token, location, seen

local function restart()
   position, cookie, token, location, seen = 1, nil, nil, nil, nil
end

function init(args)
   for line in io.lines(args[1]) do
      local method, path, status, prefix, body = line:match("^(%u+)\t([^\t]+)\t(%d+)\t([^\t]*)\t(.*)$")
      table.insert(plan, {method = method, path = path, status = tonumber(status), prefix = prefix, body = body})
   end
   restart()
end

local function current_path()
   local step = plan[position]
   return step.path == "<location>" and location or step.path
end

function request()
   local step = plan[position]
   local headers = {}
   if cookie then
      headers["Cookie"] = cookie
   end
   if step.method ~= "POST" then
      return wrk.format(step.method, current_path(), headers)
   end
   headers["Content-Type"] = "application/x-www-form-urlencoded"
   local body = step.body == "" and "" or step.body .. "&"
   local version = seen and ("&answers_seen=" .. seen) or ""
   return wrk.format("POST", current_path(), headers, body .. "csrf_token=" .. (token or "") .. version)
end

function response(status, headers, body)
   local step = plan[position]
   local path = current_path()
   local set_cookie = headers["Set-Cookie"]
   if set_cookie then
      cookie = set_cookie:match("^([^;]*)")
   end
   token = body:match('name="csrf_token" value="([^"]+)"') or token
   seen = body:match('name="answers_seen" type="hidden" value="(%d+)"')
   location = headers["Location"]
   local arrived = expect(status, step.status, path)
   if arrived and step.prefix ~= "" and (location or ""):sub(1, #step.prefix) ~= step.prefix then
      record_unexpected(path .. " redirected to " .. tostring(location) .. ", not " .. step.prefix)
      arrived = false
   end
   if not arrived then
      restart()
   elseif position == #plan then
      journeys = journeys + 1
      restart()
   else
      position = position + 1
   end
end
