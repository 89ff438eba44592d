-- GET the URL's path, expecting 200 every time (a redirect to a start page is a failure too).
-- args[1], optional: a file of Cookie header values, one a line; requests take them in turn.

dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "checks.lua")
reported = {"unexpected"}

local cookies = {}
local turn = 0

function init(args)
   if args[1] then
      for line in io.lines(args[1]) do
         table.insert(cookies, line)
      end
      turn = number * 7 % #cookies  -- threads start at different sessions
   end
end

function request()
   if #cookies == 0 then
      return wrk.format("GET")
   end
   turn = turn % #cookies + 1
   return wrk.format("GET", nil, {Cookie = cookies[turn]})
end

function response(status, headers, body)
   expect(status, 200, wrk.path)
end
