"""Catalog files written the way real exporters write them."""

from __future__ import annotations

GOOGLE_TSV = (
    "id\ttitle\tdescription\tlink\timage_link\tprice\tsale_price\tavailability\tcondition"
    "\tbrand\tgtin\tcustom_label_0\n"
    'TS-1\tCotton Tee\t"<p style=""color:red"">Soft <b>cotton</b> tee,\nmachine washable'
    '</p>"\thttps://shop.example.com/ts-1\t\t19.99 USD\t14.99 USD\tin stock\tnew\tSaltline'
    "\t4006381333931\tsummer\n"
    "TS-2\tقميص قطني\tوصف\thttps://shop.example.com/ts-2\t\t25.00 USD\t\tout_of_stock\tnew"
    "\tSaltline\t\t\n"
    'TS-3\t棉质T恤 "经典"\t说明\thttps://shop.example.com/ts-3\t\t120 JPY\t\tpreorder\tused'
    "\tSaltline\t\t\n"
)

GOOGLE_RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">
<channel><title>Shop</title><link>https://shop.example.com</link>
<item>
  <g:id>X-1</g:id><title>Trail Shoe</title>
  <description><![CDATA[<div>Light <i>and</i> fast</div>]]></description>
  <link>https://shop.example.com/x-1</link>
  <g:price>89.00 USD</g:price><g:availability>in stock</g:availability>
  <g:image_link>https://cdn.example.com/x-1.jpg</g:image_link>
  <g:additional_image_link>https://cdn.example.com/x-1b.jpg</g:additional_image_link>
  <g:additional_image_link>https://cdn.example.com/x-1c.jpg</g:additional_image_link>
  <g:shipping><g:country>US</g:country><g:service>Standard</g:service>
    <g:price>4.95 USD</g:price></g:shipping>
  <g:gtin>4006381333931</g:gtin><g:brand>Northpeak</g:brand><g:condition>new</g:condition>
</item>
<item>
  <g:id>X-2</g:id><g:title>Rain Boot</g:title><g:link>https://shop.example.com/x-2</g:link>
  <g:price>4.500 KWD</g:price><g:availability>in_stock</g:availability>
</item>
</channel></rss>
"""

GOOGLE_ATOM = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:g="http://base.google.com/ns/1.0">
<title>Shop</title>
<entry>
  <g:id>A-1</g:id><title>Desk Lamp</title><summary>Warm light</summary>
  <link href="https://shop.example.com/a-1"/>
  <g:price>64.90 EUR</g:price><g:availability>in stock</g:availability>
</entry>
</feed>
"""

META_CSV = (
    "id,title,description,availability,condition,price,link,image_link,brand,"
    "fb_product_category,quantity_to_sell_on_facebook\n"
    "M-1,Silk Scarf,Pure silk,in stock,new,39.00 USD,https://shop.example.com/m-1,,Petal,"
    "Clothing & Accessories > Scarves,5\n"
    'M-2,Yoga Mat,Grippy,out of stock,new,"42,00 EUR",https://shop.example.com/m-2,,Drift,,0\n'
)

SHOPIFY_CLASSIC = (
    "Handle,Title,Body (HTML),Vendor,Product Category,Type,Tags,Published,Option1 Name,"
    "Option1 Value,Option2 Name,Option2 Value,Variant SKU,Variant Inventory Tracker,"
    "Variant Inventory Qty,Variant Inventory Policy,Variant Price,Variant Compare At Price,"
    "Variant Barcode,Image Src,Image Position,Variant Image,Status\n"
    "aurora-shoe,Aurora Shoe,<p>Light <strong>trail</strong> shoe</p>,Northpeak,"
    "Apparel > Shoes,Shoes,trail,TRUE,Color,Red,Size,42,AUR-R-42,shopify,3,deny,89.00,"
    "110.00,4006381333931,https://cdn.example.com/aur-1.jpg,1,,active\r\n"
    "aurora-shoe,,,,,,,,,Red,,43,AUR-R-43,shopify,0,deny,89.00,,,"
    "https://cdn.example.com/aur-2.jpg,2,,\r\n"
    "aurora-shoe,,,,,,,,,Blue,,42,AUR-B-42,shopify,5,deny,95.00,,,,,"
    "https://cdn.example.com/aur-blue.jpg,\r\n"
    "canvas-tote,Canvas Tote,Sturdy,Saltline,,Bags,,TRUE,Title,Default Title,,,TOTE-1,,,"
    "deny,34.50,,,https://cdn.example.com/tote.jpg,1,,active\r\n"
)

SHOPIFY_NEW = (
    "Title,URL handle,Description,Vendor,Product category,Type,Tags,Published on online store,"
    "Status,SKU,Barcode,Option1 name,Option1 value,Price,Compare-at price,Inventory tracker,"
    "Inventory quantity,Continue selling when out of stock,Product image URL,Image position\n"
    "Ember Mug,ember-mug,Ceramic,Kiln & Co,Home > Kitchen,Mugs,,TRUE,Active,MUG-1,,"
    "Color,Orange,18.00,,shopify,10,DENY,https://cdn.example.com/mug.jpg,1\n"
    ",ember-mug,,,,,,,,MUG-2,,,Blue,18.00,20.00,shopify,0,CONTINUE,,\n"
)
