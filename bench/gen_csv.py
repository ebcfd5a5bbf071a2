"""Writes N rows of the assignment's CSV (id,hero,power,name,xp,color) with
random VARCHAR(20)-sized fields, some quoted with commas and quotes inside.

    python3 bench/gen_csv.py 1000000 > rows.csv
"""
import random
import string
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 6)
letters = string.ascii_letters + string.digits
out = sys.stdout
out.write("\n")  # the blank first line of mp6input.csv
buf = []
for i in range(1, n + 1):
    def word():
        w = "".join(rng.choices(letters, k=rng.randint(3, 20)))
        if rng.random() < 0.02:
            w = w[:15] + ', "x"'  # quoted: a comma and doubled quotes inside
            return '"' + w.replace('"', '""') + '"'
        return w
    buf.append(f"{i},{rng.choice(('yes', 'no'))},{word()},{word()},{rng.randint(0, 100000)},{word()}\n")
    if len(buf) == 10000:
        out.write("".join(buf))
        buf.clear()
out.write("".join(buf))
