print("mrl")
